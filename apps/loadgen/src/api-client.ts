/**
 * The few HTTP calls the bench makes to the service: operator provisioning under
 * /core/v2 (bearer token) and the account's /conference/v2 objects (Basic auth).
 */

export interface Provisioned {
  endpointSid: string;
  accountSid: string;
  login: string;
  password: string;
  didSid: string;
  phonenumber: string;
  roomSid: string;
  codes: { host: string; participant: string; listener: string };
}

/** A live Call object as far as the bench reads it. */
export interface ApiCall {
  call_sid: string;
  number_src: string;
  meeting_sid?: string | null;
  date_joined?: string | null;
  role?: string;
}

export interface ApiMeeting {
  meeting_sid: string;
  attendees?: { hosts: number; participants: number; listeners: number };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status} ${body.slice(0, 300)}`);
  }
}

export function basicAuth(login: string, password: string): string {
  return `Basic ${Buffer.from(`${login}:${password}`).toString("base64")}`;
}

/** Caller number as the service stores it in number_src (`<sip:NUMBER@host>` forms). */
export function numberOf(numberSrc: string): string {
  const m = /sips?:([^@;>]+)/i.exec(numberSrc);
  return (m?.[1] ?? numberSrc).replace(/^\+/, "");
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly adminToken: string,
    /**
     * Bound on each request: the bench floods the API with adversarial filters, and an API
     * still busy with them must not hold the bench's own reads (counts, clean-up) forever.
     */
    readonly requestTimeoutMs = 60_000,
  ) {}

  private async json<T>(what: string, path: string, init: RequestInit & { auth: string }): Promise<T> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      signal: AbortSignal.timeout(this.requestTimeoutMs),
      ...init,
      headers: { "content-type": "application/json", authorization: init.auth, ...(init.headers ?? {}) },
    });
    const body = await res.text();
    if (!res.ok) throw new ApiError(res.status, body, what);
    return (body ? JSON.parse(body) : {}) as T;
  }

  /** Whether the API answers HTTP at all (any status). */
  async reachable(): Promise<boolean> {
    try {
      const res = await fetch(`${this.baseUrl}/core/v2/endpoints?limit=1`, {
        headers: { authorization: `Bearer ${this.adminToken}` },
        signal: AbortSignal.timeout(2000),
      });
      await res.arrayBuffer();
      return true;
    } catch {
      return false;
    }
  }

  /** Endpoint + DID + meeting room with one code per role. */
  async provision(opts: {
    name: string;
    phonenumber: string;
    codes: { host: string; participant: string; listener: string };
    attributes?: Record<string, string>;
  }): Promise<Provisioned> {
    const bearer = `Bearer ${this.adminToken}`;
    const ep = await this.json<{ endpoint_sid: string; properties: Record<string, string> }>(
      "create endpoint",
      "/core/v2/endpoints",
      { method: "POST", auth: bearer, body: JSON.stringify({ name: opts.name, type: "conference" }) },
    );
    const login = ep.properties.login ?? "";
    const password = ep.properties.password ?? "";
    const did = await this.json<{ did_sid: string }>("create DID", "/core/v2/dids", {
      method: "POST",
      auth: bearer,
      body: JSON.stringify({ phonenumber: opts.phonenumber, endpoint_sid: ep.endpoint_sid }),
    });
    const auth = basicAuth(login, password);
    const room = await this.json<{ meeting_room_sid: string }>("create meeting room", "/conference/v2/meeting_rooms", {
      method: "POST",
      auth,
      body: JSON.stringify({
        name: opts.name,
        access_codes: [
          { access_code: opts.codes.host, role: "host" },
          { access_code: opts.codes.participant, role: "participant" },
          { access_code: opts.codes.listener, role: "listener" },
        ],
        ...(opts.attributes ? { attributes: opts.attributes } : {}),
      }),
    });
    return {
      endpointSid: ep.endpoint_sid,
      accountSid: ep.properties.account_sid ?? "",
      login,
      password,
      didSid: did.did_sid,
      phonenumber: opts.phonenumber,
      roomSid: room.meeting_room_sid,
      codes: opts.codes,
    };
  }

  private async listAll<T>(p: Provisioned, path: string): Promise<T[]> {
    const auth = basicAuth(p.login, p.password);
    const out: T[] = [];
    let limit = 1000;
    for (let offset = 0; offset < 100_000; ) {
      let page: { items: T[]; has_more?: boolean };
      try {
        page = await this.json(`list ${path}`, `${path}?limit=${limit}&offset=${offset}`, { auth });
      } catch (e) {
        // A service with a smaller page cap: retry with a small page.
        if (e instanceof ApiError && e.status === 400 && limit > 100) {
          limit = 100;
          continue;
        }
        throw e;
      }
      out.push(...page.items);
      if (!page.has_more || page.items.length === 0) break;
      offset += page.items.length;
    }
    return out;
  }

  listCalls(p: Provisioned): Promise<ApiCall[]> {
    return this.listAll<ApiCall>(p, "/conference/v2/calls");
  }

  listMeetings(p: Provisioned): Promise<ApiMeeting[]> {
    return this.listAll<ApiMeeting>(p, "/conference/v2/meetings");
  }

  /** PATCH a live call (e.g. its name); the HTTP status, or 0 when no answer came. */
  async updateCall(p: Provisioned, callSid: string, body: Record<string, unknown>): Promise<number> {
    try {
      const res = await fetch(`${this.baseUrl}/conference/v2/calls/${callSid}`, {
        method: "PATCH",
        headers: { "content-type": "application/json", authorization: basicAuth(p.login, p.password) },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0;
    }
  }

  /** Best-effort clean-up of what provision() created. */
  async deprovision(p: Provisioned): Promise<void> {
    const bearer = `Bearer ${this.adminToken}`;
    const auth = basicAuth(p.login, p.password);
    const signal = () => AbortSignal.timeout(this.requestTimeoutMs);
    await fetch(`${this.baseUrl}/conference/v2/meeting_rooms/${p.roomSid}`, {
      method: "DELETE",
      headers: { authorization: auth },
      signal: signal(),
    }).catch(() => null);
    await fetch(`${this.baseUrl}/core/v2/dids/${p.didSid}`, {
      method: "DELETE",
      headers: { authorization: bearer },
      signal: signal(),
    }).catch(() => null);
    await fetch(`${this.baseUrl}/core/v2/endpoints/${p.endpointSid}`, {
      method: "DELETE",
      headers: { authorization: bearer },
      signal: signal(),
    }).catch(() => null);
  }
}

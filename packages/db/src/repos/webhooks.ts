import { asc, count, eq, getTableColumns } from "drizzle-orm";
import type { Db } from "../client.ts";
import { accounts } from "../schema/accounts.ts";
import { webhooks } from "../schema/webhooks.ts";
import {
  accountRows,
  type DbResult,
  type FieldMap,
  invalid,
  isUuid,
  type ListOptions,
  notFound,
  ok,
  type Page,
} from "./common.ts";
import { listPager } from "./list-page.ts";

/** A Webhook object (not in the reference). The secret is shown once, when created. */
export interface WebhookObject {
  account_sid: string;
  date_created: string;
  /** Event types delivered; null: every type. */
  types: string[] | null;
  url: string;
  webhook_sid: string;
}

/** A webhook with its signing secret (creation answer, dispatcher). */
export interface WebhookWithSecret extends WebhookObject {
  secret: string;
}

/** Filterable and sortable fields of webhooks. */
export const webhookFields = {
  account_sid: webhooks.accountSid,
  date_created: webhooks.dateCreated,
  url: webhooks.url,
  webhook_sid: webhooks.webhookSid,
} as const satisfies FieldMap;

/** What a webhook is created from; the API checks the URL and the types. */
export interface WebhookInput {
  url: string;
  types: string[] | null;
}

function toApi(row: typeof webhooks.$inferSelect): WebhookObject {
  return {
    account_sid: row.accountSid,
    date_created: row.dateCreated.toISOString(),
    types: row.types ?? null,
    url: row.url,
    webhook_sid: row.webhookSid,
  };
}

export interface WebhooksRepo {
  readonly fields: typeof webhookFields;
  /** Creates a webhook with a new random secret; `invalid` (field `url`) when the account has `max` already. */
  create(accountSid: string, input: WebhookInput, max: number): Promise<DbResult<WebhookWithSecret>>;
  get(accountSid: string, webhookSid: string): Promise<DbResult<WebhookObject>>;
  list(options: ListOptions): Promise<Page<WebhookObject>>;
  /** Every webhook of an account with its secret (the dispatcher's view; at most the per-account maximum). */
  ofAccount(accountSid: string): Promise<WebhookWithSecret[]>;
  delete(accountSid: string, webhookSid: string): Promise<DbResult<void>>;
}

/**
 * Webhooks of an account; another account's webhook is `not_found`, as a missing one.
 * @example await webhooksRepo(db).create(accountSid, { url: "https://hooks.example.com/conf", types: null }, 20);
 */
export function webhooksRepo(db: Db): WebhooksRepo {
  const rows = accountRows(db, webhooks, { account: webhooks.accountSid, sid: webhooks.webhookSid }, "webhook");
  const pages = listPager(db, {
    table: webhooks,
    account: webhooks.accountSid,
    columns: getTableColumns(webhooks),
    tiebreak: [asc(webhooks.dateCreated), asc(webhooks.webhookSid)],
    toApi,
  });
  return {
    fields: webhookFields,
    async create(accountSid, input, max) {
      if (!isUuid(accountSid)) return notFound("account");
      const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");
      return db.transaction(async (tx) => {
        // Locking the account row serializes creations of one account, so two at once
        // cannot both pass the count.
        const [acct] = await tx
          .select({ sid: accounts.accountSid })
          .from(accounts)
          .where(eq(accounts.accountSid, accountSid))
          .for("update");
        if (!acct) return notFound("account");
        const [c] = await tx.select({ n: count() }).from(webhooks).where(eq(webhooks.accountSid, accountSid));
        if ((c?.n ?? 0) >= max) return invalid([{ field: "url", message: `an account has at most ${max} webhooks` }]);
        const [row] = await tx.insert(webhooks).values({ accountSid, url: input.url, types: input.types, secret }).returning();
        return ok({ ...toApi(row!), secret });
      });
    },
    get: (accountSid, sid) => rows.get(accountSid, sid, toApi),
    list: pages.ofAccount,
    async ofAccount(accountSid) {
      if (!isUuid(accountSid)) return [];
      const all = await db
        .select()
        .from(webhooks)
        .where(eq(webhooks.accountSid, accountSid))
        .orderBy(asc(webhooks.dateCreated))
        .limit(1000);
      return all.map((r) => ({ ...toApi(r), secret: r.secret }));
    },
    delete: rows.delete,
  };
}

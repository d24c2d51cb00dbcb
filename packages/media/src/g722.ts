/**
 * ITU-T G.722 wideband (7 kHz) sub-band ADPCM codec, 64 kbit/s mode.
 *
 * Hand-written because npm has no maintained G.722 package (checked with `npm view`:
 * `g722`, `g722-codec`, `node-g722`, `@audio/g722` do not exist). It follows the
 * fixed-point ITU-T reference algorithm (the structure the public-domain CMU/spandsp
 * code also uses): a 24-tap QMF splits 16 kHz audio into two 8 kHz bands, the low band
 * is coded with 6 bits and the high band with 2 bits of adaptive ADPCM.
 * Note the RTP clock rate of G.722 is 8000 (RFC 3551) although it carries 16 kHz audio:
 * 20 ms = 320 samples = 160 bytes = 160 timestamp units.
 *
 * Per-frame calls allocate nothing; all state is numbers and small Int32Arrays.
 */

const QMF = [3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11] as const;
const Q6 = Int32Array.from([
  0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612,
  1765, 1980, 2195, 2557, 2919, 0, 0,
]);
const ILN = Int32Array.from([
  0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 0,
]);
const ILP = Int32Array.from([
  0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 0,
]);
const WL = Int32Array.from([-60, -30, 58, 172, 334, 538, 1198, 3042]);
const RL42 = Int32Array.from([0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0]);
const ILB = Int32Array.from([
  2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025, 3091, 3158,
  3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
]);
const QM4 = Int32Array.from([
  0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0,
]);
const QM6 = Int32Array.from([
  -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856, -7192,
  -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776, -2400, -2032, -1688, -1360, -1040, -728, 24808, 21904, 19008,
  16704, 14984, 13512, 12280, 11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456, 4944, 4464, 4008, 3576, 3168, 2776, 2400,
  2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
]);
const QM2 = Int32Array.from([-7408, -1616, 7408, 1616]);
const IHN = Int32Array.from([0, 1, 0]);
const IHP = Int32Array.from([0, 3, 2]);
const WH = Int32Array.from([0, -214, 798]);
const RH2 = Int32Array.from([2, 1, 2, 1]);

function sat16(v: number): number {
  return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}

/** ADPCM state of one sub-band (ITU blocks 3 and 4). */
class Band {
  s = 0;
  sp = 0;
  sz = 0;
  nb = 0;
  det: number;
  readonly r = new Int32Array(3);
  readonly a = new Int32Array(3);
  readonly ap = new Int32Array(3);
  readonly p = new Int32Array(3);
  readonly d = new Int32Array(7);
  readonly b = new Int32Array(7);
  readonly bp = new Int32Array(7);

  constructor(det: number) {
    this.det = det;
  }

  copyFrom(o: Band): void {
    this.s = o.s;
    this.sp = o.sp;
    this.sz = o.sz;
    this.nb = o.nb;
    this.det = o.det;
    this.r.set(o.r);
    this.a.set(o.a);
    this.ap.set(o.ap);
    this.p.set(o.p);
    this.d.set(o.d);
    this.b.set(o.b);
    this.bp.set(o.bp);
  }

  reset(det: number): void {
    this.nb = 0;
    this.det = det;
    this.resetPredictor();
  }

  /** Forgets the signal history and predictor, keeping the adaptive scale. */
  resetPredictor(): void {
    this.s = this.sp = this.sz = 0;
    this.r.fill(0);
    this.a.fill(0);
    this.ap.fill(0);
    this.p.fill(0);
    this.d.fill(0);
    this.b.fill(0);
    this.bp.fill(0);
  }

  /** Block 3 SCALEL/SCALEH: quantiser scale factor from the log scale factor. */
  scale(base: number): void {
    const wd1 = (this.nb >> 6) & 31;
    const wd2 = base - (this.nb >> 11);
    const wd3 = wd2 < 0 ? (ILB[wd1] as number) << -wd2 : (ILB[wd1] as number) >> wd2;
    this.det = wd3 << 2;
  }

  /** Low band after quantising: INVQAL, LOGSCL and SCALEL for the 4 high bits of `ilow`, then block 4 (encoder and decoder alike). */
  adaptLow(ilow: number): void {
    const ril = ilow >> 2;
    const dlow = (this.det * (QM4[ril] as number)) >> 15;
    const nb = ((this.nb * 127) >> 7) + (WL[RL42[ril] as number] as number);
    this.nb = nb < 0 ? 0 : nb > 18432 ? 18432 : nb;
    this.scale(8);
    this.block4(dlow);
  }

  /** High band after quantising: LOGSCH and SCALEH for `ihigh`, then block 4 with its difference `dhigh`. */
  adaptHigh(ihigh: number, dhigh: number): void {
    const nb = ((this.nb * 127) >> 7) + (WH[RH2[ihigh] as number] as number);
    this.nb = nb < 0 ? 0 : nb > 22528 ? 22528 : nb;
    this.scale(10);
    this.block4(dhigh);
  }

  /** Block 4: reconstruction and pole/zero predictor adaptation for difference `dx`. */
  block4(dx: number): void {
    const r = this.r;
    const a = this.a;
    const ap = this.ap;
    const p = this.p;
    const d = this.d;
    const b = this.b;
    const bp = this.bp;
    d[0] = dx;
    r[0] = sat16(this.s + dx);
    p[0] = sat16(this.sz + dx);

    // UPPOL2
    const sg0 = (p[0] as number) >> 15;
    const sg1 = (p[1] as number) >> 15;
    const sg2 = (p[2] as number) >> 15;
    let wd1 = sat16((a[1] as number) << 2);
    let wd2 = sg0 === sg1 ? -wd1 : wd1;
    if (wd2 > 32767) wd2 = 32767;
    let wd3 = (sg0 === sg2 ? 128 : -128) + (wd2 >> 7) + (((a[2] as number) * 32512) >> 15);
    if (wd3 > 12288) wd3 = 12288;
    else if (wd3 < -12288) wd3 = -12288;
    ap[2] = wd3;

    // UPPOL1
    wd1 = sg0 === sg1 ? 192 : -192;
    wd2 = ((a[1] as number) * 32640) >> 15;
    let ap1 = sat16(wd1 + wd2);
    wd3 = sat16(15360 - wd3);
    if (ap1 > wd3) ap1 = wd3;
    else if (ap1 < -wd3) ap1 = -wd3;
    ap[1] = ap1;

    // UPZERO
    wd1 = dx === 0 ? 0 : 128;
    const sgd = dx >> 15;
    for (let i = 1; i < 7; i++) {
      const w = (d[i] as number) >> 15 === sgd ? wd1 : -wd1;
      bp[i] = sat16(w + (((b[i] as number) * 32640) >> 15));
    }

    // DELAYA
    for (let i = 6; i > 0; i--) {
      d[i] = d[i - 1] as number;
      b[i] = bp[i] as number;
    }
    for (let i = 2; i > 0; i--) {
      r[i] = r[i - 1] as number;
      p[i] = p[i - 1] as number;
      a[i] = ap[i] as number;
    }

    // FILTEP
    wd1 = ((a[1] as number) * sat16((r[1] as number) * 2)) >> 15;
    wd2 = ((a[2] as number) * sat16((r[2] as number) * 2)) >> 15;
    this.sp = sat16(wd1 + wd2);

    // FILTEZ
    let sz = 0;
    for (let i = 6; i > 0; i--) sz += ((b[i] as number) * sat16((d[i] as number) * 2)) >> 15;
    this.sz = sat16(sz);

    // PREDIC
    this.s = sat16(this.sp + this.sz);
  }
}

/**
 * G.722 encoder state for one outgoing stream.
 * @example const enc = new G722Encoder(); enc.encode(pcm16, 0, 320, payload, 12); // 160 bytes
 */
export class G722Encoder {
  private readonly x = new Int32Array(24);
  private readonly low = new Band(32);
  private readonly high = new Band(8);

  /** Back to the initial state (a new stream). */
  reset(): void {
    this.x.fill(0);
    this.low.reset(32);
    this.high.reset(8);
  }

  /**
   * Takes over another encoder's state, so a receiver whose decoder followed that
   * encoder's stream stays in step when we switch it to this one (the mixer does this
   * when a listener starts talking and gets its own N-1 stream).
   */
  copyFrom(other: G722Encoder): void {
    this.x.set(other.x);
    this.low.copyFrom(other.low);
    this.high.copyFrom(other.high);
  }

  /** Encodes `n` (even) 16 kHz samples into `n/2` bytes at `dst[dstOff..]`; returns the byte count. */
  encode(src: Int16Array, srcOff: number, n: number, dst: Uint8Array, dstOff: number): number {
    const x = this.x;
    const lb = this.low;
    const hb = this.high;
    let out = dstOff;
    for (let j = 0; j + 1 < n; j += 2) {
      for (let i = 0; i < 22; i++) x[i] = x[i + 2] as number;
      x[22] = src[srcOff + j] as number;
      x[23] = src[srcOff + j + 1] as number;
      let sumodd = 0;
      let sumeven = 0;
      for (let i = 0; i < 12; i++) {
        sumodd += (x[2 * i] as number) * (QMF[i] as number);
        sumeven += (x[2 * i + 1] as number) * (QMF[11 - i] as number);
      }
      const xlow = (sumeven + sumodd) >> 14;
      const xhigh = (sumeven - sumodd) >> 14;

      // Low band: QUANTL, INVQAL, LOGSCL, SCALEL.
      const el = sat16(xlow - lb.s);
      let wd = el >= 0 ? el : -(el + 1);
      // First i in 1..29 with wd < Q6[i]*det >> 12 (30 if none): the thresholds grow
      // with i, so a binary search finds the same level as the reference's linear scan.
      const det = lb.det;
      let lo = 1;
      let hi = 30;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (wd < ((Q6[mid] as number) * det) >> 12) hi = mid;
        else lo = mid + 1;
      }
      const i = lo;
      const ilow = el < 0 ? (ILN[i] as number) : (ILP[i] as number);
      lb.adaptLow(ilow);

      // High band: QUANTH, INVQAH, LOGSCH, SCALEH.
      const eh = sat16(xhigh - hb.s);
      wd = eh >= 0 ? eh : -(eh + 1);
      const mih = wd >= (564 * hb.det) >> 12 ? 2 : 1;
      const ihigh = eh < 0 ? (IHN[mih] as number) : (IHP[mih] as number);
      const dhigh = (hb.det * (QM2[ihigh] as number)) >> 15;
      hb.adaptHigh(ihigh, dhigh);

      dst[out++] = (ihigh << 6) | ilow;
    }
    return out - dstOff;
  }
}

/**
 * G.722 decoder state for one incoming stream.
 * @example const dec = new G722Decoder(); dec.decode(payload, off, 160, pcm16, 0); // 320 samples
 */
export class G722Decoder {
  private readonly x = new Int32Array(24);
  private readonly low = new Band(32);
  private readonly high = new Band(8);
  private stale = false;

  /** Back to the initial state (a new stream). */
  reset(): void {
    this.x.fill(0);
    this.low.reset(32);
    this.high.reset(8);
    this.stale = false;
  }

  /**
   * Follows only the adaptive step sizes of `n` bytes (two table lookups a byte instead
   * of a full decode) and returns a level: the larger of the low band's step size and
   * twice the high band's, about 56 for silence and above ~90 for anything audible.
   * The predictor state goes stale; the next `decode()` restarts it from silence while
   * keeping the tracked step sizes, and it re-adapts within 100-200 ms. The mixer uses
   * this to avoid decoding callers who are silent.
   */
  trackLevel(src: Uint8Array, srcOff: number, n: number): number {
    const lb = this.low;
    const hb = this.high;
    let nbl = lb.nb;
    let nbh = hb.nb;
    for (let j = 0; j < n; j++) {
      const code = src[srcOff + j] as number;
      nbl = ((nbl * 127) >> 7) + (WL[RL42[(code & 0x3f) >> 2] as number] as number);
      nbl = nbl < 0 ? 0 : nbl > 18432 ? 18432 : nbl;
      nbh = ((nbh * 127) >> 7) + (WH[RH2[(code >> 6) & 3] as number] as number);
      nbh = nbh < 0 ? 0 : nbh > 22528 ? 22528 : nbh;
    }
    lb.nb = nbl;
    hb.nb = nbh;
    lb.scale(8);
    hb.scale(10);
    this.stale = true;
    return lb.det > 2 * hb.det ? lb.det : 2 * hb.det;
  }

  /** Decodes `n` bytes into `2n` 16 kHz samples at `dst[dstOff..]`; returns the sample count. */
  decode(src: Uint8Array, srcOff: number, n: number, dst: Int16Array, dstOff: number): number {
    if (this.stale) {
      this.stale = false;
      this.x.fill(0);
      this.low.resetPredictor();
      this.high.resetPredictor();
    }
    const x = this.x;
    const lb = this.low;
    const hb = this.high;
    let out = dstOff;
    for (let j = 0; j < n; j++) {
      const code = src[srcOff + j] as number;
      const ilow = code & 0x3f;
      const ihigh = (code >> 6) & 0x03;

      // Low band: INVQBL, RECONS, LIMIT, then INVQAL/LOGSCL/SCALEL for adaptation.
      let rlow = lb.s + ((lb.det * (QM6[ilow] as number)) >> 15);
      if (rlow > 16383) rlow = 16383;
      else if (rlow < -16384) rlow = -16384;
      lb.adaptLow(ilow);

      // High band.
      const dhigh = (hb.det * (QM2[ihigh] as number)) >> 15;
      let rhigh = dhigh + hb.s;
      if (rhigh > 16383) rhigh = 16383;
      else if (rhigh < -16384) rhigh = -16384;
      hb.adaptHigh(ihigh, dhigh);

      // Receive QMF.
      for (let i = 0; i < 22; i++) x[i] = x[i + 2] as number;
      x[22] = rlow + rhigh;
      x[23] = rlow - rhigh;
      let xout1 = 0;
      let xout2 = 0;
      for (let i = 0; i < 12; i++) {
        xout2 += (x[2 * i] as number) * (QMF[i] as number);
        xout1 += (x[2 * i + 1] as number) * (QMF[11 - i] as number);
      }
      dst[out++] = sat16(xout1 >> 11);
      dst[out++] = sat16(xout2 >> 11);
    }
    return out - dstOff;
  }
}

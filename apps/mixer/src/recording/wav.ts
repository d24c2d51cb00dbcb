/**
 * The 44-byte header of a mono 16-bit PCM WAV file (RIFF, `fmt `, `data`).
 *
 * Written by hand rather than with `wavefile`: that library builds whole files in
 * memory, while a recording is streamed to disk and only needs these 44 bytes twice
 * (a placeholder at the start, the real sizes at stop). Tests read the files back
 * with `wavefile`, so the format is checked by an independent reader.
 */

/** Size of the header `wavHeader` writes; the samples start at this offset. */
export const WAV_HEADER_SIZE = 44;

/** Largest `data` chunk a RIFF file can describe (its 32-bit size fields). */
export const WAV_MAX_DATA_BYTES = 0xffffffff - (WAV_HEADER_SIZE - 8);

/**
 * Fills `out` (at least 44 bytes) with the header of a mono 16-bit PCM WAV file
 * holding `dataBytes` bytes of samples.
 * @example wavHeader(new Uint8Array(44), 16000, 32000) // one second at 16 kHz
 */
export function wavHeader(out: Uint8Array, sampleRate: number, dataBytes: number): Uint8Array {
  if (out.length < WAV_HEADER_SIZE) throw new RangeError("WAV header needs 44 bytes");
  if (dataBytes < 0 || dataBytes > WAV_MAX_DATA_BYTES) throw new RangeError(`WAV data size ${dataBytes} out of range`);
  const v = new DataView(out.buffer, out.byteOffset, WAV_HEADER_SIZE);
  const ascii = (off: number, s: string) => {
    for (let i = 0; i < s.length; i++) v.setUint8(off + i, s.charCodeAt(i));
  };
  const channels = 1;
  const bytesPerSample = 2;
  ascii(0, "RIFF");
  v.setUint32(4, WAV_HEADER_SIZE - 8 + dataBytes, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  v.setUint32(16, 16, true); // fmt chunk size for PCM
  v.setUint16(20, 1, true); // WAVE_FORMAT_PCM
  v.setUint16(22, channels, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * channels * bytesPerSample, true);
  v.setUint16(32, channels * bytesPerSample, true);
  v.setUint16(34, 16, true);
  ascii(36, "data");
  v.setUint32(40, dataBytes, true);
  return out;
}

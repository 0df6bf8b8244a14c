/**
 * Lines of a BuildKit build's progress, from the `moby.buildkit.trace` messages of `POST /build`
 * (`version=2`): each is a base64 `moby.buildkit.v1.StatusResponse` protobuf. Only what a build
 * log needs is read: a step's name when it starts, its error, and the output it printed. Read by
 * hand, not with dockerode 5.0's decoder, which prints a step's output as base64 (it turns bytes
 * into base64 strings, then reads those as UTF-8); three fields need no schema file at run time,
 * and a field the reader does not know is skipped, as protobuf intends.
 *
 * StatusResponse { repeated Vertex vertexes = 1; repeated VertexLog logs = 3; }
 * Vertex { string name = 3; Timestamp started = 5; string error = 7; }
 * VertexLog { bytes msg = 4; }
 */

type Field = { readonly no: number; readonly bytes?: Uint8Array };

/** The fields of one message; length-delimited ones carry their bytes, the others only their number. */
const fields = (buf: Uint8Array): Field[] => {
  const out: Field[] = [];
  let at = 0;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (at >= buf.length) throw new Error("truncated varint");
      const b = buf[at++] as number;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
  };
  while (at < buf.length) {
    const key = varint();
    const no = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) varint();
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const len = varint();
      if (at + len > buf.length) throw new Error("truncated field");
      out.push({ no, bytes: buf.subarray(at, at + len) });
      at += len;
      continue;
    } else throw new Error(`unsupported wire type ${wire}`);
    out.push({ no });
  }
  return out;
};

const text = (b: Uint8Array | undefined): string => (b ? Buffer.from(b).toString("utf8") : "");

/** The log lines in one trace message: "#<name>" when a step starts, its output, "ERROR: …" when it fails. */
export const traceLines = (base64: string): string[] => {
  const lines: string[] = [];
  try {
    for (const f of fields(Buffer.from(base64, "base64"))) {
      if (f.no === 1 && f.bytes) {
        const vertex = fields(f.bytes);
        const name = text(vertex.find((v) => v.no === 3)?.bytes);
        const started = vertex.some((v) => v.no === 5);
        const completed = vertex.some((v) => v.no === 6);
        const error = text(vertex.find((v) => v.no === 7)?.bytes);
        if (name && started && !completed) lines.push(`#${name}`);
        if (error) lines.push(`ERROR: ${name ? `${name}: ` : ""}${error}`);
      } else if (f.no === 3 && f.bytes) {
        lines.push(...text(fields(f.bytes).find((v) => v.no === 4)?.bytes).split("\n"));
      }
    }
  } catch {
    // A message this reader cannot parse only costs its lines of the log.
  }
  return lines;
};

import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { seededBytes, writeSeededFile } from "../test/support/tree-manifest.ts";

const GiB = 1 << 30;

/**
 * 1 GiB exactly: 16,000 small files (1–16 KiB) in 160 directories, 240 medium files (128 KiB–2 MiB),
 * and large files of 96 MiB filling the rest. Content is AES-CTR output seeded per file: deterministic
 * and incompressible, never runs of zeros (which --sparse would treat specially).
 */
export async function generate(root: string): Promise<{ files: number; bytes: number }> {
  let bytes = 0;
  let files = 0;
  let rng = 0x2545f491;
  const next = () => {
    rng ^= rng << 13;
    rng ^= rng >>> 17;
    rng ^= rng << 5;
    return (rng >>> 0) / 2 ** 32;
  };
  for (let d = 0; d < 160; d += 1) {
    const dir = join(root, `small/${String(d).padStart(3, "0")}`);
    await mkdir(dir, { recursive: true });
    for (let f = 0; f < 100; f += 1) {
      const size = 1024 + Math.floor(next() * 15 * 1024);
      await writeFile(join(dir, `f${f}.dat`), seededBytes(`small-${d}-${f}`, size));
      bytes += size;
      files += 1;
    }
  }
  await mkdir(join(root, "medium"), { recursive: true });
  for (let f = 0; f < 240; f += 1) {
    const size = 128 * 1024 + Math.floor(next() * (2 * 1024 * 1024 - 128 * 1024));
    await writeFile(join(root, `medium/m${f}.bin`), seededBytes(`medium-${f}`, size));
    bytes += size;
    files += 1;
  }
  await mkdir(join(root, "large"), { recursive: true });
  for (let f = 0; bytes < GiB; f += 1) {
    const size = Math.min(96 << 20, GiB - bytes);
    await writeSeededFile(join(root, `large/l${f}.bin`), `large-${f}`, size);
    bytes += size;
    files += 1;
  }
  return { files, bytes };
}

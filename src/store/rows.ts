// Converting engine values to domain values, the same for both engines.

export function num(v: number | bigint | string): number {
  return typeof v === 'number' ? v : Number(v);
}

export function optNum(v: number | bigint | string | null | undefined): number | undefined {
  return v === null || v === undefined ? undefined : num(v);
}

export function big(v: number | bigint | string | null | undefined): bigint {
  return v === null || v === undefined ? 0n : typeof v === 'bigint' ? v : BigInt(v);
}

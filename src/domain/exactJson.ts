// JSON with bigint values written as exact integers (JSON.stringify refuses bigint, and a
// Number would round above 2^53).

const MARK = '\u0000';

export function exactJson(value: unknown, indent?: number): string {
  const marked = JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? `${MARK}${v}` : v), indent);
  return marked.replace(/"\\u0000(-?\d+)"/g, '$1');
}

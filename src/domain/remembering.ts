// A function's results remembered: usage records start and end on few distinct instants and
// carry few distinct names, so what is made of them (an instant printed, a name quoted and
// encoded) is made once for many records. At most 4096 are kept at once (a day's report holds its
// hours and the moments of its events): past that the memory starts again empty.

const MAX_REMEMBERED = 4096;

export function remembering<K, V>(make: (key: K) => V): (key: K) => V {
  const known = new Map<K, V>();
  return (key) => {
    let value = known.get(key);
    if (value === undefined) {
      value = make(key);
      if (known.size >= MAX_REMEMBERED) known.clear();
      known.set(key, value);
    }
    return value;
  };
}

// Virtual IP addresses as the API's pages print them: an IPv6 address in full form, eight groups
// of four lower-case hex digits (`2001:4801:79f1:0002:22d6:5749:0000:0001`, seed 003), whatever
// form the provisioning system sent (`2001:4801:79f1:2:22d6:5749::1`). Stored as received; the
// wire form is made here. Anything that is not an IPv6 address is printed as received.

import { isIPv4, isIPv6 } from 'node:net';

export function wireAddress(address: string): string {
  return isIPv6(address) ? fullIpv6(address) : address;
}

function fullIpv6(address: string): string {
  let text = address.toLowerCase().replace(/%.*$/, ''); // a zone index names a local interface: not on the wire
  // A trailing dotted IPv4 (::ffff:10.0.0.1) is its two last groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (v4 && isIPv4(v4)) {
    const [a, b, c, d] = v4.split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, -v4.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') as [string, string] : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => g.padStart(4, '0')).join(':');
}

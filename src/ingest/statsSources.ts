// A host's stats source as an operator gives it (the API's PUT /management/hosts/{id}, or
// `lbmeter hosts put`) and as it is shown back: a socket path, or a stats page whose credentials
// are stored in its URL and never shown (ingest/sources/haproxyHttp.ts reads them from there).

import type { Host } from '../store/inventory.ts';
import { shown } from '../api/faults.ts';
import { splitCredentials, withCredentials } from './sources/haproxyHttp.ts';

export type StatsInput = { socket?: string; url?: string; username?: string; password?: string };

/** Why a stats source was refused, naming the field. */
export class StatsSourceRefused extends Error {}

/** The source as stored: a socket, or a URL holding its credentials. */
export function statsSourceOf(stats: StatsInput): NonNullable<Host['stats']> {
  const refuse = (why: string) => new StatsSourceRefused(why);
  if (stats.socket !== undefined) {
    if (stats.url !== undefined || stats.username !== undefined || stats.password !== undefined) throw refuse('stats: give either socket, or url (with username and password for a page behind stats auth), not both');
    return { socket: stats.socket };
  }
  if (stats.url === undefined) throw refuse('stats: give socket or url');
  const inUrl = splitCredentials(stats.url);
  if (!isHttpUrl(stats.url)) throw refuse(`stats.url: expected an http:// or https:// URL, received ${shown(inUrl.url)}`);
  if (stats.username === undefined && stats.password === undefined) return { url: stats.url };
  if (inUrl.username !== undefined) throw refuse('stats: give the credentials in the url or in username and password, not both');
  if (stats.username === undefined) throw refuse('stats.username: required with stats.password');
  return { url: withCredentials(stats.url, stats.username, stats.password ?? '') };
}

/** A host as shown: a stats page's URL without credentials, its user name, never its password. */
export function hostView(host: Host) {
  if (!host.stats || !('url' in host.stats)) return host;
  const { url, username } = splitCredentials(host.stats.url);
  return { ...host, stats: { url, ...(username !== undefined ? { username } : {}) } };
}

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

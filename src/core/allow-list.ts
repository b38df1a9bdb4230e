/**
 * Client addresses allowed to read an unauthenticated endpoint (`/metrics`,
 * `[ceod] metrics_allow`): single addresses and CIDR blocks, IPv4 or IPv6.
 * An IPv4 client on a dual-stack socket shows as `::ffff:a.b.c.d` and is
 * matched as the IPv4 address it is.
 */
import { BlockList, isIP } from 'node:net';

/** One entry: an address (`127.0.0.1`, `::1`) or a block (`10.0.0.0/8`, `fd00::/8`); null if it is neither. */
export function parseAllowEntry(entry: string): { address: string; prefix?: number; family: 'ipv4' | 'ipv6' } | null {
  const [address, bits, extra] = entry.trim().split('/');
  if (extra !== undefined || !address) return null;
  const v = isIP(address);
  if (v === 0) return null;
  const family = v === 4 ? 'ipv4' : 'ipv6';
  if (bits === undefined) return { address, family };
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > (v === 4 ? 32 : 128)) return null;
  return { address, prefix: Number(bits), family };
}

export class AllowList {
  private readonly list = new BlockList();
  readonly empty: boolean;

  /** Entries must have passed `parseAllowEntry` (the config schema checks them). */
  constructor(entries: readonly string[]) {
    for (const e of entries) {
      const p = parseAllowEntry(e);
      if (!p) throw new Error(`not an address or CIDR block: ${e}`);
      if (p.prefix === undefined) this.list.addAddress(p.address, p.family);
      else this.list.addSubnet(p.address, p.prefix, p.family);
    }
    this.empty = entries.length === 0;
  }

  allows(ip: string | undefined): boolean {
    if (!ip) return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (mapped) return this.list.check(mapped[1]!, 'ipv4') || this.list.check(ip, 'ipv6');
    const v = isIP(ip);
    return v !== 0 && this.list.check(ip, v === 4 ? 'ipv4' : 'ipv6');
  }
}

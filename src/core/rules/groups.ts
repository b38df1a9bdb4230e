/**
 * Group membership and search rules (docs/jobs.md#add_group_member,
 * docs/api.md#search-groups), pure so the API, the jobs and the unit tests
 * agree on one rule.
 */

/** The `[auxiliary_groups]` and `[auxiliary_lists]` config: group → groups and lists its members also get. */
export interface AuxiliaryConfig {
  auxiliary_groups: Readonly<Record<string, readonly string[]>>;
  auxiliary_lists: Readonly<Record<string, readonly string[]>>;
}

/**
 * Which memberships ceod added because of another group: the `impliedMembership`
 * values of a People entry, `<group>:<via>` (e.g. `office:syscom`: ceod put the
 * user in office because they joined syscom). A membership without such a
 * marker was made some other way (by hand, or directly through the API) and is
 * never ceod's to end when a group is left.
 */
export const marker = (group: string, via: string): string => `${group}:${via}`;

/** The groups `via` of every marker for `group`. */
export function impliedVia(markers: readonly string[], group: string): string[] {
  return markers.filter((m) => m.startsWith(`${group}:`)).map((m) => m.slice(group.length + 1));
}

/** The auxiliary groups of `cn` (itself excluded). */
export const auxiliaryGroupsOf = (config: AuxiliaryConfig, cn: string): string[] => (config.auxiliary_groups[cn] ?? []).filter((g) => g !== cn);

/**
 * What joining `cn` adds, given the user's groups and markers now: membership
 * of each auxiliary group they are not in yet (with a marker saying why), and
 * a marker for each one they are in only because of another group (so leaving
 * that other group later keeps it). A direct membership gets no marker.
 */
export function whatJoiningAdds(config: AuxiliaryConfig, cn: string, groups: readonly string[], markers: readonly string[]): { groups: string[]; markers: string[] } {
  const add: string[] = [];
  const marks: string[] = [];
  for (const g of auxiliaryGroupsOf(config, cn)) {
    const m = marker(g, cn);
    if (!groups.includes(g)) {
      add.push(g);
      marks.push(m);
    } else if (impliedVia(markers, g).length > 0 && !markers.includes(m)) {
      marks.push(m);
    }
  }
  return { groups: add, markers: marks };
}

/**
 * What leaving `cn` takes away, given the user's groups and markers now: each
 * auxiliary group of `cn` that ceod added because of `cn` (a `<group>:<cn>`
 * marker) and that no other marker still holds, and every `<group>:<cn>`
 * marker; and the auxiliary lists of `cn` that none of their other groups
 * implies. Someone not in `cn` loses nothing, and a membership ceod did not
 * add (no marker) is never taken.
 */
export function whatLeavingTakes(
  config: AuxiliaryConfig,
  cn: string,
  groups: readonly string[],
  markers: readonly string[] = [],
): { groups: string[]; markers: string[]; lists: string[] } {
  if (!groups.includes(cn)) return { groups: [], markers: [], lists: [] };
  const others = groups.filter((g) => g !== cn);
  const impliedLists = new Set(others.flatMap((g) => config.auxiliary_lists[g] ?? []));
  const take: string[] = [];
  const unmark: string[] = [];
  for (const g of auxiliaryGroupsOf(config, cn)) {
    const via = impliedVia(markers, g);
    if (!via.includes(cn)) continue;
    unmark.push(marker(g, cn));
    // Held for another group the user is still in: stays.
    if (!via.some((v) => v !== cn && others.includes(v))) take.push(g);
  }
  return { groups: take, markers: unmark, lists: (config.auxiliary_lists[cn] ?? []).filter((l) => !impliedLists.has(l)) };
}

/**
 * Best matches first: the exact name, then names starting with the text, then
 * names holding it, then descriptions holding it; alphabetical within each.
 */
export function rankGroups<G extends { cn: string; description?: string }>(groups: G[], text: string): G[] {
  const t = text.toLowerCase();
  const rank = (g: G): number => {
    const cn = g.cn.toLowerCase();
    if (cn === t) return 0;
    if (cn.startsWith(t)) return 1;
    if (cn.includes(t)) return 2;
    return 3;
  };
  return groups
    .map((g) => ({ g, r: rank(g) }))
    .sort((a, b) => a.r - b.r || (a.g.cn < b.g.cn ? -1 : a.g.cn > b.g.cn ? 1 : 0))
    .map(({ g }) => g);
}

/** A member's personal group (its gid in the members' range) is not what a group search is for. */
export function isPersonalGroup(g: { gidNumber: number }, members: { min_id: number; max_id: number }): boolean {
  return g.gidNumber >= members.min_id && g.gidNumber <= members.max_id;
}

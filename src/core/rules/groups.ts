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
 * What leaving `cn` takes away, given all the groups the user is in now: the
 * auxiliary groups and lists of `cn` that none of their other groups implies.
 * Someone not in `cn` loses nothing: a direct membership of an auxiliary group
 * is not ours to end.
 */
export function whatLeavingTakes(config: AuxiliaryConfig, cn: string, groups: readonly string[]): { groups: string[]; lists: string[] } {
  if (!groups.includes(cn)) return { groups: [], lists: [] };
  const others = groups.filter((g) => g !== cn);
  const impliedGroups = new Set(others.flatMap((g) => config.auxiliary_groups[g] ?? []));
  const impliedLists = new Set(others.flatMap((g) => config.auxiliary_lists[g] ?? []));
  return {
    groups: (config.auxiliary_groups[cn] ?? []).filter((g) => g !== cn && !impliedGroups.has(g)),
    lists: (config.auxiliary_lists[cn] ?? []).filter((l) => !impliedLists.has(l)),
  };
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

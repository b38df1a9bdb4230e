/** Pure logic of the group jobs and routes: what leaving a group takes, search ranking, a club's sudo role. */
import { rankGroups } from '../../src/core/rules/groups';
import { clubSudoRole } from '../../src/jobs/create-group';
import { whatLeavingTakes } from '../../src/core/rules/groups';

const config = {
  auxiliary_groups: { syscom: ['office', 'staff'], termcom: ['office'] },
  auxiliary_lists: { syscom: ['syscom', 'syscom-alerts'], exec: ['exec'], termcom: ['syscom-alerts'] },
};

describe('whatLeavingTakes', () => {
  test('leaving syscom takes its auxiliary groups and lists', () => {
    expect(whatLeavingTakes(config, 'syscom', ['syscom', 'office', 'staff'])).toEqual({ groups: ['office', 'staff'], lists: ['syscom', 'syscom-alerts'] });
  });

  test('keeps what another of the user’s groups implies', () => {
    expect(whatLeavingTakes(config, 'syscom', ['syscom', 'termcom', 'office', 'staff'])).toEqual({ groups: ['staff'], lists: ['syscom'] });
  });

  test('someone not in the group loses nothing, and a group without auxiliaries takes nothing', () => {
    expect(whatLeavingTakes(config, 'syscom', ['office', 'staff'])).toEqual({ groups: [], lists: [] });
    expect(whatLeavingTakes(config, 'chess', ['chess', 'office'])).toEqual({ groups: [], lists: [] });
  });
});

describe('rankGroups', () => {
  const g = (cn: string, description?: string) => ({ cn, description });
  test('exact, then prefix, then substring of the name, then description; alphabetical within', () => {
    const ranked = rankGroups([g('xchess'), g('go', 'chess and go'), g('chess-b'), g('chess'), g('chess-a')], 'chess');
    expect(ranked.map((x) => x.cn)).toEqual(['chess', 'chess-a', 'chess-b', 'xchess', 'go']);
  });

  test('matches names case-insensitively', () => {
    expect(rankGroups([g('abc'), g('zabc')], 'ABC').map((x) => x.cn)).toEqual(['abc', 'zabc']);
  });
});

test('a club’s sudo role is for its group, runs as the club user, with the configured hosts, commands and options', () => {
  expect(clubSudoRole('chess', { sudo_hosts: ['ALL'], sudo_commands: ['ALL'], sudo_options: ['!authenticate'] })).toEqual({
    group: 'chess',
    runAsUser: 'chess',
    hosts: ['ALL'],
    commands: ['ALL'],
    options: ['!authenticate'],
  });
});

/** Pure logic of the group jobs and routes: what leaving a group takes, search ranking, a club's sudo role. */
import { rankGroups, whatJoiningAdds, whatLeavingTakes } from '../../src/core/rules/groups';
import { clubSudoRole } from '../../src/jobs/create-group';

const config = {
  auxiliary_groups: { syscom: ['office', 'staff'], termcom: ['office'] },
  auxiliary_lists: { syscom: ['syscom', 'syscom-alerts'], exec: ['exec'], termcom: ['syscom-alerts'] },
};

describe('whatJoiningAdds', () => {
  test('joining syscom adds office and staff, each marked as implied by syscom', () => {
    expect(whatJoiningAdds(config, 'syscom', ['alice1'], [])).toEqual({ groups: ['office', 'staff'], markers: ['office:syscom', 'staff:syscom'] });
  });
  test('a membership the user has directly gets no marker: it stays theirs', () => {
    expect(whatJoiningAdds(config, 'syscom', ['office'], [])).toEqual({ groups: ['staff'], markers: ['staff:syscom'] });
  });
  test('a membership another group implies gets this group\'s marker too', () => {
    expect(whatJoiningAdds(config, 'syscom', ['termcom', 'office'], ['office:termcom'])).toEqual({ groups: ['staff'], markers: ['office:syscom', 'staff:syscom'] });
  });
});

describe('whatLeavingTakes', () => {
  test('leaving syscom takes the auxiliary groups it added, their markers, and its lists', () => {
    expect(whatLeavingTakes(config, 'syscom', ['syscom', 'office', 'staff'], ['office:syscom', 'staff:syscom'])).toEqual({
      groups: ['office', 'staff'],
      markers: ['office:syscom', 'staff:syscom'],
      lists: ['syscom', 'syscom-alerts'],
    });
  });

  test('keeps what another of the user’s groups still holds', () => {
    expect(whatLeavingTakes(config, 'syscom', ['syscom', 'termcom', 'office', 'staff'], ['office:syscom', 'office:termcom', 'staff:syscom'])).toEqual({
      groups: ['staff'],
      markers: ['office:syscom', 'staff:syscom'],
      lists: ['syscom'],
    });
  });

  test('never takes a membership ceod did not add: leaving syscom keeps a direct office membership (issue 10, #11)', () => {
    expect(whatLeavingTakes(config, 'syscom', ['syscom', 'office', 'staff'], ['staff:syscom'])).toEqual({ groups: ['staff'], markers: ['staff:syscom'], lists: ['syscom', 'syscom-alerts'] });
    // Before markers existed: nothing says ceod added office, so it stays.
    expect(whatLeavingTakes(config, 'syscom', ['syscom', 'office', 'staff'], []).groups).toEqual([]);
  });

  test('a marker of a group the user has left does not hold the membership', () => {
    expect(whatLeavingTakes(config, 'syscom', ['syscom', 'office'], ['office:syscom', 'office:termcom']).groups).toEqual(['office']);
  });

  test('someone not in the group loses nothing, and a group without auxiliaries takes nothing', () => {
    expect(whatLeavingTakes(config, 'syscom', ['office', 'staff'], ['office:syscom'])).toEqual({ groups: [], markers: [], lists: [] });
    expect(whatLeavingTakes(config, 'chess', ['chess', 'office'], [])).toEqual({ groups: [], markers: [], lists: [] });
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

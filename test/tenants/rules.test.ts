import { hostnameZones, isClosedTenant, isOpenTenant } from '../../lib/tenants';

describe('what a tenant\'s open and allow mean', () => {
  test('GIVEN `open: true` THEN the tenant is open; GIVEN no `open` THEN it is not, whatever `allow` holds', () => {
    expect(isOpenTenant({ open: true })).toBe(true);
    // Missing or empty rules never open a tenant (fail closed); validation refuses them.
    expect(isOpenTenant({})).toBe(false);
    expect(isOpenTenant({ allow: {} })).toBe(false);
    expect(isOpenTenant({ open: false, allow: { aws: [] } })).toBe(false);
  });

  test('GIVEN an emptied list THEN the tenant is closed, not open; GIVEN an entry THEN it is neither', () => {
    expect(isClosedTenant({ allow: { aws: [] } })).toBe(true);
    expect(isClosedTenant({ allow: { aws: [], cidrs: [] } })).toBe(true);
    expect(isClosedTenant({ allow: { aws: ['vpce-08d2bf15fac5001c9'] } })).toBe(false);
    expect(isClosedTenant({ open: true })).toBe(false);
  });
});

describe('private DNS zones for a consumer\'s hostnames', () => {
  test('GIVEN a name and its wildcard THEN they share one zone; other names get their own, in first-named order', () => {
    expect(hostnameZones(['*.megacorp.example.com', 'api.initech.example.com', 'megacorp.example.com'])).toEqual([
      { zone: 'megacorp.example.com', apex: true, wildcard: true },
      { zone: 'api.initech.example.com', apex: true, wildcard: false },
    ]);
  });

  test('GIVEN only a wildcard THEN its zone answers the wildcard, not the zone name itself', () => {
    expect(hostnameZones(['*.shop.example.com'])).toEqual([{ zone: 'shop.example.com', apex: false, wildcard: true }]);
  });
});

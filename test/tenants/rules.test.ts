import { hostnameZones, isClosedTenant, isOpenTenant } from '../../lib/tenants';

describe('what a tenant\'s allow block means', () => {
  test('GIVEN no list at all THEN the tenant is open; GIVEN an emptied list THEN it is closed, not open', () => {
    expect(isOpenTenant(undefined)).toBe(true);
    expect(isOpenTenant({})).toBe(true);
    expect(isOpenTenant({ aws: [] })).toBe(false);
    expect(isClosedTenant({ aws: [] })).toBe(true);
    expect(isClosedTenant({ aws: ['vpce-08d2bf15fac5001c9'] })).toBe(false);
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

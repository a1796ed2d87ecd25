import { doctorCommand } from '../../lib/tenants/doctor-command';

test('GIVEN hostnames THEN the command names the first exact one, with the port', () => {
  expect(doctorCommand(['*.megacorp.example.com', 'megacorp.api.example.com'], 8443)).toBe('linkgate doctor megacorp.api.example.com --port 8443');
});

test('GIVEN only wildcards THEN a name the first wildcard covers (one more label)', () => {
  expect(doctorCommand(['*.megacorp.example.com'])).toBe('linkgate doctor check.megacorp.example.com --port 443');
});

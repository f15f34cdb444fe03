import { microTime } from './leader-election';

test('microTime has the six fractional digits metav1.MicroTime parses', () => {
  expect(microTime(new Date('2026-11-26T01:02:03.456Z'))).toBe('2026-11-26T01:02:03.456000Z');
});

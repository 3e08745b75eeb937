/**
 * Motor vehicle plates (GA 36): province abbreviation, issuing-authority letter, then five
 * characters (letters other than I and O, and digits), or six for new-energy vehicles: small
 * new-energy plates put D (battery) or F (other new energy) first, large ones put it last.
 */
export const PLATE_PROVINCES = '京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼';

// Ordinary: 5 serial characters, the last of which may be a use marker (trailer, coach, police,
// Hong Kong / Macao crossing vehicles).
const ORDINARY = new RegExp(`^[${PLATE_PROVINCES}][A-HJ-NP-Z][A-HJ-NP-Z0-9]{4}[A-HJ-NP-Z0-9挂学警港澳]$`);
const NEW_ENERGY_SMALL = new RegExp(`^[${PLATE_PROVINCES}][A-HJ-NP-Z][DF][A-HJ-NP-Z0-9]\\d{4}$`);
const NEW_ENERGY_LARGE = new RegExp(`^[${PLATE_PROVINCES}][A-HJ-NP-Z]\\d{5}[DF]$`);

/** Strips the separators written after the authority letter (京A·12345, 京A-12345, 京A 12345). */
export function normalizePlate(value: string): string {
  return value.replace(/[·•\- ]/g, '').toUpperCase();
}

export function isValidLicensePlate(value: string): boolean {
  const plate = normalizePlate(value);
  if (plate.length === 7) return ORDINARY.test(plate);
  if (plate.length === 8) return NEW_ENERGY_SMALL.test(plate) || NEW_ENERGY_LARGE.test(plate);
  return false;
}

export function isNewEnergyPlate(value: string): boolean {
  const plate = normalizePlate(value);
  return NEW_ENERGY_SMALL.test(plate) || NEW_ENERGY_LARGE.test(plate);
}

import { columnKey } from '../../input/columns.js';

// Which CSV columns a contact-sheet card shows besides the user: the ones people recognise
// someone by. Named ones first (a name, then an employee number, a department, a title); failing
// those, the first columns that are neither the id nor the photo. A card has room for three.

const PREFERRED = [
  ['display_name', 'full_name', 'name', 'displayname', 'fullname', 'cn'],
  ['first_name', 'given_name', 'firstname', 'givenname', 'vorname', 'prénom'],
  ['last_name', 'surname', 'family_name', 'lastname', 'familyname', 'nachname', 'nom'],
  ['employee_id', 'employee_number', 'worker_id', 'personnel_number', 'staff_id', 'employeeid'],
  ['department', 'team', 'division', 'org_unit', 'abteilung'],
  ['title', 'job_title', 'position', 'role'],
];

export const CARD_COLUMNS = 3;

export function displayColumns(headers: readonly string[], exclude: readonly string[]): string[] {
  const free = headers.filter((header) => header !== '' && !exclude.includes(header));
  const chosen: string[] = [];
  for (const group of PREFERRED) {
    // Candidates are spelled through the same key as headers, however that key is defined.
    const keys = group.map(columnKey);
    const match = free.find((header) => keys.includes(columnKey(header)) && !chosen.includes(header));
    if (match) chosen.push(match);
    if (chosen.length === CARD_COLUMNS) break;
  }
  // Nothing recognisable: the CSV's first other columns, in its order.
  if (chosen.length === 0) return free.slice(0, CARD_COLUMNS);
  return headers.filter((header) => chosen.includes(header));
}

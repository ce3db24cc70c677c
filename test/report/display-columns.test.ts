import { displayColumns } from '../../src/report/preview/columns.js';

// The columns a contact-sheet card shows: what people recognise someone by.

describe('display columns', () => {
  test('a name, an employee number and a department, whatever the spelling, in the CSV order', () => {
    expect(displayColumns(['Work Email', 'Department', 'Employee ID', 'Photo', 'Full Name', 'Cost Centre'], ['Work Email', 'Photo']))
      .toEqual(['Department', 'Employee ID', 'Full Name']);
  });

  test('first and last names both count', () => {
    expect(displayColumns(['id', 'first_name', 'last_name', 'image'], ['id', 'image'])).toEqual(['first_name', 'last_name']);
  });

  test('nothing recognisable: the first columns that are not the id or the photo', () => {
    expect(displayColumns(['uid', 'a', 'b', 'pic', 'c', 'd'], ['uid', 'pic'])).toEqual(['a', 'b', 'c']);
  });

  test('never the id or the photo column, never an unnamed one', () => {
    expect(displayColumns(['name', 'photo', ''], ['name', 'photo'])).toEqual([]);
  });
});

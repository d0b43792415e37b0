import { describe, expect, it } from "vitest";
import { memberRole } from "../../db/schema/orgs";
import { actions, can, memberRoles, memberRolesFor, roleOf, type Action, type Role } from "./permissions";

// The whole table, written out: a grant added or dropped fails its row.
// Columns: owner, developer, finance, platform-finance.
const matrix: [string, Action, [boolean, boolean, boolean, boolean]][] = [
  ["only owners run the organisation (rename, members, invites)", "org.manage", [true, false, false, false]],
  ["owners and developers manage API keys", "keys.manage", [true, true, false, false]],
  ["only owners raise or remove a key's limit", "keys.raiseLimits", [true, false, false, false]],
  ["owners and developers draft and edit listings", "listings.manage", [true, true, false, false]],
  ["only owners publish listings and change prices", "listings.publish", [true, false, false, false]],
  ["owners and finance members top up credits", "credits.topUp", [true, false, true, true]],
  ["owners and finance members read their organisation's finance", "finance.read", [true, false, true, true]],
  ["owners and finance members see earnings and payouts", "payouts.read", [true, false, true, true]],
  ["only owners connect a Stripe account for payouts", "payouts.connect", [true, false, false, false]],
  ["only platform finance reads the platform's books", "books.read", [false, false, false, true]],
  ["only platform finance closes months", "books.close", [false, false, false, true]],
  ["only platform finance records and runs payouts", "payouts.run", [false, false, false, true]],
];
const roles: Role[] = ["owner", "developer", "finance", "platform-finance"];

describe("can(role, action)", () => {
  it("every action has a row", () => {
    expect(matrix.map(([, a]) => a).sort()).toEqual([...actions].sort());
  });

  it.each(matrix.flatMap(([label, action, row]) => roles.map((role, i) => [`${label}: ${role}`, role, action, row[i]!] as const)))(
    "%s",
    (_label, role, action, allowed) => expect(can(role, action)).toBe(allowed),
  );
});

it("knows every role the database does, in its order", () => {
  expect(memberRoles).toEqual(memberRole.enumValues);
});

describe("roleOf", () => {
  const rows: [string, Parameters<typeof roleOf>[0], Role][] = [
    ["a finance member of the platform organisation", { role: "finance", isPlatform: true }, "platform-finance"],
    ["the platform organisation's owner is an ordinary owner", { role: "owner", isPlatform: true }, "owner"],
    ["the platform organisation's developer is an ordinary developer", { role: "developer", isPlatform: true }, "developer"],
    ["a finance member of an ordinary organisation", { role: "finance", isPlatform: false }, "finance"],
  ];
  it.each(rows)("%s", (_label, member, role) => expect(roleOf(member)).toBe(role));
});

describe("memberRolesFor names the roles to ask for, in the enum's order", () => {
  const rows: [Action, string[]][] = [
    ["keys.manage", ["owner", "developer"]],
    ["finance.read", ["owner", "finance"]],
    ["org.manage", ["owner"]],
    ["books.read", []],
  ];
  it.each(rows)("%s", (action, expected) => expect(memberRolesFor(action)).toEqual(expected));
});

"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";

const platformLinks = [
  { href: "/finance", label: "Trial balance" },
  { href: "/finance/accounts", label: "Accounts" },
  { href: "/finance/journal", label: "Journal" },
  { href: "/finance/reconciliation", label: "Reconciliation" },
  { href: "/finance/payouts", label: "Payouts" },
  { href: "/finance/audit", label: "Audit log" },
];
const orgLinks = [
  { href: "/finance", label: "Overview" },
  { href: "/finance/audit", label: "Audit log" },
];

export function FinanceNav({ mode }: { mode: "platform" | "org" }) {
  const pathname = usePathname();
  const links = mode === "platform" ? platformLinks : orgLinks;
  return (
    <nav className="-mt-2 mb-6 flex flex-wrap gap-1 border-b border-slate-200 text-sm print:hidden" aria-label="Finance">
      {links.map((l) => {
        const active = l.href === "/finance" ? pathname === "/finance" : pathname.startsWith(l.href);
        return (
          <Link
            key={l.href}
            href={l.href}
            aria-current={active ? "page" : undefined}
            className={`-mb-px border-b-2 px-3 py-2 ${active ? "border-indigo-600 font-medium text-indigo-700" : "border-transparent text-slate-600 hover:text-slate-900"}`}
          >
            {l.label}
          </Link>
        );
      })}
    </nav>
  );
}

"use client";
import { signOut } from "next-auth/react";
import { useState } from "react";

export function UserMenu({ name, email }: { name: string; email: string }) {
  const [open, setOpen] = useState(false);
  return (
    <div className="relative">
      <button
        type="button"
        data-testid="user-menu"
        className="grid h-8 w-8 place-items-center rounded-full bg-slate-800 text-xs font-semibold uppercase text-white"
        onClick={() => setOpen((o) => !o)}
        aria-expanded={open}
        aria-label="Account menu"
      >
        {name.slice(0, 2)}
      </button>
      {open && (
        <div className="absolute right-0 z-20 mt-2 w-56 rounded-md border border-slate-200 bg-white p-2 text-sm shadow-lg">
          <div className="px-2 py-1.5">
            <div className="font-medium">{name}</div>
            <div className="truncate text-slate-500">{email}</div>
          </div>
          <button type="button" className="mt-1 w-full rounded px-2 py-1.5 text-left hover:bg-slate-100" onClick={() => signOut({ redirectTo: "/" })}>
            Sign out
          </button>
        </div>
      )}
    </div>
  );
}

import { NextRequest } from "next/server";
import { handlers } from "@/server/auth";
import { BODY_LIMITS, limitedRequest, tooLarge } from "@/server/lib/body";

export const GET = handlers.GET;

export async function POST(raw: NextRequest) {
  const req = await limitedRequest(raw, BODY_LIMITS.auth);
  if (!req) return tooLarge(BODY_LIMITS.auth);
  return handlers.POST(new NextRequest(req));
}

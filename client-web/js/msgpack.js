// The browser's copy of @msgpack/msgpack, served by the Ensemble server from
// client-web/node_modules (pinned in package.json).
export * from "/vendor/msgpack/index.mjs";

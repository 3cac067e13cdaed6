export * from "./activity.js";
export * from "./authz.js";
export * from "./mail.js";
export * from "./orgs.js";
export * from "./users.js";

// The ingestor's MongoDB user, least privilege: readWrite on its database (and the demo's) only.
// The mongo image runs this on the first start of an empty data volume, as root (compose: secrets
// mongo_root_password and mongo_ingest_password). On a server of your own, run it once with mongosh:
//   MONGO_DB=peakon MONGO_INGEST_PASSWORD_FILE=... mongosh "$ADMIN_URI" deploy/mongo/ingest-user.js
const fs = require("fs");
const passwordFile = process.env.MONGO_INGEST_PASSWORD_FILE || "/run/secrets/mongo_ingest_password";
const password = fs.readFileSync(passwordFile, "utf8").trim();
if (!password) {
  throw new Error(`MONGO_INGEST_PASSWORD_FILE: ${passwordFile} is empty`);
}
const databases = [process.env.MONGO_DB || "peakon", ...(process.env.DEMO_DB ? [process.env.DEMO_DB] : [])];
const roles = databases.map((name) => ({ role: "readWrite", db: name }));
const admin = db.getSiblingDB("admin");
if (admin.getUser("ingest")) {
  admin.updateUser("ingest", { pwd: password, roles: roles });
} else {
  admin.createUser({ user: "ingest", pwd: password, roles: roles });
}
print(`ingest can read and write ${databases.join(", ")} and nothing else`);

import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";

/**
 * Secrets at rest (a channel's access token, app secret and verify token): AES-256-GCM with a
 * key derived by HKDF-SHA256 from SECRET_KEY. Each ciphertext names the key that made it:
 *
 *   v1.<keyId>.<iv>.<tag>.<ciphertext>     (base64url parts; keyId = 8 hex of SHA-256(key))
 *
 * Rotation: set the new SECRET_KEY and list the old one in SECRET_KEY_PREVIOUS; both decrypt,
 * new writes use the new key, `reencrypt()` (npm run secrets:rotate) rewrites the stored ones,
 * then the old key can go. The additional data binds a ciphertext to its purpose (a token
 * cannot be swapped in for an app secret).
 */
export class SecretBox {
  private readonly current: { id: string; key: Buffer };
  private readonly byId = new Map<string, Buffer>();

  constructor(secretKey: string, previous: readonly string[] = []) {
    this.current = derive(secretKey);
    for (const k of [secretKey, ...previous]) {
      const d = derive(k);
      if (!this.byId.has(d.id)) this.byId.set(d.id, d.key);
    }
  }

  get keyId(): string {
    return this.current.id;
  }

  encrypt(plaintext: string, purpose: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.current.key, iv);
    cipher.setAAD(Buffer.from(purpose));
    const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    const tag = cipher.getAuthTag();
    return ["v1", this.current.id, iv.toString("base64url"), tag.toString("base64url"), ct.toString("base64url")].join(
      ".",
    );
  }

  decrypt(sealed: string, purpose: string): string {
    const [version, keyId, iv, tag, ct] = sealed.split(".");
    if (version !== "v1" || !keyId || iv === undefined || tag === undefined || ct === undefined) {
      throw new Error("not a sealed secret");
    }
    const key = this.byId.get(keyId);
    if (!key) throw new Error(`secret sealed with an unknown key (${keyId}): is SECRET_KEY_PREVIOUS missing it?`);
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(purpose));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(ct, "base64url")), decipher.final()]).toString("utf8");
  }

  /** True when `sealed` was made with an older key (rotation rewrites it). */
  isStale(sealed: string): boolean {
    return sealed.split(".")[1] !== this.current.id;
  }
}

function derive(secretKey: string): { id: string; key: Buffer } {
  const key = Buffer.from(hkdfSync("sha256", secretKey, "chorus", "chorus secrets at rest v1", 32));
  return { id: createHash("sha256").update(key).digest("hex").slice(0, 8), key };
}

const boxes = new Map<string, SecretBox>();
/** One box per key set (deriving costs a little; configs do not change while running). */
export function secretBoxOf(config: { secretKey: string; secretKeyPrevious: string[] }): SecretBox {
  const k = `${config.secretKey}\n${config.secretKeyPrevious.join("\n")}`;
  let box = boxes.get(k);
  if (!box) {
    box = new SecretBox(config.secretKey, config.secretKeyPrevious);
    boxes.set(k, box);
  }
  return box;
}

// The emulator's certificate authority. Real Lakebase instances present certificates from a public
// CA; the emulator's instances present certificates from this local CA instead, so clients can run
// with full verification (`sslmode=verify-full`, `PGSSLROOTCERT=<certPath>`) against 127.x.y.z.
//
// Certificates are built with @peculiar/asn1-x509 (the ASN.1 structures) and signed with
// node:crypto, both synchronous: `issueServerCertificate` is called while the REST layer handles
// a create or start request, and @peculiar/x509's generator is WebCrypto-based, hence async only.
// Keys are ECDSA P-256: generated in well under a millisecond, accepted by OpenSSL, libpq and Node.
import { createHash, createPrivateKey, generateKeyPairSync, KeyObject, randomBytes, sign, X509Certificate } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_kp_serverAuth,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import { InstanceServerError } from './errors';

export interface CertificateAuthority {
  /** PEM file clients can trust (`PGSSLROOTCERT`, `ssl.ca` of node-postgres). */
  readonly certPath: string;
  readonly certPem: string;
  /**
   * A fresh key and a certificate for one instance server, valid for the given names (its
   * `read_write_dns`: on the emulator an IP address, so `ipAddresses` is what verify-full checks).
   * Cheap (about a millisecond): issue one at every start rather than storing it.
   */
  issueServerCertificate(names: { dnsNames: string[]; ipAddresses: string[] }): { certPem: string; keyPem: string };
}

const CA_CERT_FILE = 'ca.crt';
const CA_KEY_FILE = 'ca.key';
const CA_COMMON_NAME = 'Lakebase Emulator Local CA';
const ORGANIZATION = 'lakebase-kernel emulator';
const CA_VALIDITY_DAYS = 3650;
/** Long enough that a persisted emulator never meets an expired one, short enough to look sane. */
const SERVER_VALIDITY_DAYS = 825;
/** Tolerates a clock that is a little behind the one that issued the certificate. */
const BACKDATE_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

// RFC 5280 / RFC 5758 object identifiers.
const OID_COMMON_NAME = '2.5.4.3';
const OID_ORGANIZATION = '2.5.4.10';
const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

/**
 * Loads the CA kept in `dir` (`ca.crt` + `ca.key`), or creates it on first use. Two processes that
 * create it at the same moment end up with the same CA: each writes into a temporary directory
 * and renames it to `dir`; the loser discards its own and loads the winner's.
 */
export async function loadOrCreateAuthority(dir: string): Promise<CertificateAuthority> {
  const existing = await loadAuthority(dir);
  if (existing) return existing;
  await createAuthority(dir);
  const created = await loadAuthority(dir);
  if (!created) {
    throw new InstanceServerError('AUTHORITY_UNREADABLE', `The emulator's CA in ${dir} vanished right after it was created.`);
  }
  return created;
}

async function loadAuthority(dir: string): Promise<CertificateAuthority | undefined> {
  const certPath = join(dir, CA_CERT_FILE);
  const keyPath = join(dir, CA_KEY_FILE);
  const [certPem, keyPem] = await Promise.all([readIfExists(certPath), readIfExists(keyPath)]);
  if (certPem === undefined && keyPem === undefined) return undefined;
  const repair = `Delete the directory ${dir} to let the emulator create a new CA (clients must then trust the new ${CA_CERT_FILE}).`;
  if (certPem === undefined || keyPem === undefined) {
    throw new InstanceServerError('AUTHORITY_UNREADABLE', `The emulator's CA in ${dir} is incomplete: ${certPem === undefined ? CA_CERT_FILE : CA_KEY_FILE} is missing. ${repair}`);
  }
  try {
    const privateKey = createPrivateKey(keyPem);
    const certificate = new X509Certificate(certPem);
    if (!certificate.checkPrivateKey(privateKey)) throw new Error(`${CA_KEY_FILE} does not belong to ${CA_CERT_FILE}`);
    if (Date.parse(certificate.validTo) <= Date.now()) throw new Error(`the CA certificate expired on ${certificate.validTo}`);
    const parsed = AsnConvert.parse(certificate.raw, Certificate);
    const keyId = findSubjectKeyIdentifier(parsed) ?? keyIdentifierOf(certificate.publicKey);
    return new LocalCertificateAuthority(certPath, certPem, parsed.tbsCertificate.subject, keyId, privateKey);
  } catch (error) {
    throw new InstanceServerError('AUTHORITY_UNREADABLE', `The emulator's CA in ${dir} is unusable (${(error as Error).message}). ${repair}`, { cause: error });
  }
}

async function createAuthority(dir: string): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  const staging = await mkdtemp(join(dirname(dir), `.${basename(dir)}-new-`));
  try {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const subject = distinguishedName(CA_COMMON_NAME);
    const keyId = keyIdentifierOf(publicKey);
    const now = Date.now();
    const certPem = buildCertificate({
      subject,
      publicKey,
      issuer: { name: subject, keyId, privateKey },
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + CA_VALIDITY_DAYS * DAY_MS),
      extensions: [
        extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: true, pathLenConstraint: 0 })),
        extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign)),
        extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyId)),
      ],
    });
    // The key never leaves this directory and only this OS user may read it; the certificate is
    // public by nature (every client of every instance trusts it).
    await writeFile(join(staging, CA_KEY_FILE), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await writeFile(join(staging, CA_CERT_FILE), certPem, { mode: 0o644 });
    await chmod(staging, 0o755);
    await renameUnlessPresent(staging, dir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** rename(2) replaces an empty directory and fails on a populated one: the first writer wins. */
async function renameUnlessPresent(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return; // another process created it first
    throw error;
  }
}

class LocalCertificateAuthority implements CertificateAuthority {
  // Private fields stay out of `util.inspect`, JSON and logs: the CA key is a secret.
  readonly #subject: Name;
  readonly #keyId: ArrayBuffer;
  readonly #privateKey: KeyObject;

  constructor(readonly certPath: string, readonly certPem: string, subject: Name, keyId: ArrayBuffer, privateKey: KeyObject) {
    this.#subject = subject;
    this.#keyId = keyId;
    this.#privateKey = privateKey;
  }

  issueServerCertificate(names: { dnsNames: string[]; ipAddresses: string[] }): { certPem: string; keyPem: string } {
    for (const address of names.ipAddresses) {
      if (isIP(address) === 0) throw new InstanceServerError('INVALID_NAME', `"${address}" is not an IP address; put host names in dnsNames.`);
    }
    const commonName = names.dnsNames[0] ?? names.ipAddresses[0];
    if (commonName === undefined) throw new InstanceServerError('INVALID_NAME', 'A server certificate needs at least one DNS name or IP address.');
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const now = Date.now();
    const alternativeNames = [
      ...names.dnsNames.map((dNSName) => new GeneralName({ dNSName })),
      ...names.ipAddresses.map((iPAddress) => new GeneralName({ iPAddress })),
    ];
    const certPem = buildCertificate({
      subject: distinguishedName(commonName),
      publicKey,
      issuer: { name: this.#subject, keyId: this.#keyId, privateKey: this.#privateKey },
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + SERVER_VALIDITY_DAYS * DAY_MS),
      extensions: [
        extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })),
        extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature)),
        extension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_serverAuth])),
        extension(id_ce_subjectAltName, false, new SubjectAlternativeName(alternativeNames)),
        extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyIdentifierOf(publicKey))),
        extension(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(this.#keyId) })),
      ],
    });
    return { certPem, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
  }

  toJSON(): { certPath: string } {
    return { certPath: this.certPath };
  }
}

interface CertificateTemplate {
  subject: Name;
  publicKey: KeyObject;
  issuer: { name: Name; keyId: ArrayBuffer; privateKey: KeyObject };
  notBefore: Date;
  notAfter: Date;
  extensions: Extension[];
}

function buildCertificate(template: CertificateTemplate): string {
  // ecdsa-with-SHA256 takes no parameters (RFC 5758 §3.2): the field must be absent, not NULL.
  const signatureAlgorithm = new AlgorithmIdentifier({ algorithm: OID_ECDSA_WITH_SHA256 });
  const tbsCertificate = new TBSCertificate({
    version: Version.v3,
    serialNumber: serialNumber(),
    signature: signatureAlgorithm,
    issuer: template.issuer.name,
    validity: new Validity({ notBefore: template.notBefore, notAfter: template.notAfter }),
    subject: template.subject,
    subjectPublicKeyInfo: AsnConvert.parse(template.publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo),
    extensions: new Extensions(template.extensions),
  });
  const toBeSigned = Buffer.from(AsnConvert.serialize(tbsCertificate));
  // node:crypto signs EC keys in DER (r, s) form, which is what X.509 carries (RFC 5480 §2.2).
  const signature = sign('sha256', toBeSigned, template.issuer.privateKey);
  const certificate = new Certificate({ tbsCertificate, signatureAlgorithm, signatureValue: toArrayBuffer(signature) });
  return pem('CERTIFICATE', Buffer.from(AsnConvert.serialize(certificate)));
}

function distinguishedName(commonName: string): Name {
  const attribute = (type: string, value: string) =>
    new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: value }) })]);
  return new Name([attribute(OID_ORGANIZATION, ORGANIZATION), attribute(OID_COMMON_NAME, commonName)]);
}

function extension(extnID: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** RFC 7093 §2 method 1: the leftmost 160 bits of the SHA-256 of the subject public key. */
function keyIdentifierOf(publicKey: KeyObject): ArrayBuffer {
  const spki = AsnConvert.parse(publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo);
  return toArrayBuffer(createHash('sha256').update(Buffer.from(spki.subjectPublicKey)).digest().subarray(0, 20));
}

function findSubjectKeyIdentifier(certificate: Certificate): ArrayBuffer | undefined {
  const found = certificate.tbsCertificate.extensions?.find((entry) => entry.extnID === id_ce_subjectKeyIdentifier);
  if (!found) return undefined;
  return toArrayBuffer(Buffer.from(AsnConvert.parse(found.extnValue, SubjectKeyIdentifier).buffer));
}

/** 16 random bytes, high bit cleared so the INTEGER stays positive (RFC 5280 §4.1.2.2). */
function serialNumber(): ArrayBuffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return toArrayBuffer(bytes);
}

function toArrayBuffer(bytes: Buffer): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InstanceServerError('AUTHORITY_UNREADABLE', `Cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

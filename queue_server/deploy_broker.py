"""``motcua deploy broker --config center.toml``: the files a center's Mosquitto needs for least privilege.

Writes into one directory (nothing is started, nothing outside it is touched):

- ``motcua.conf``: a loopback listener for the hub and a LAN listener (TLS unless ``tls=False``), no anonymous
  clients, the password and ACL files below, and on both listeners ``use_username_as_clientid`` (the broker
  replaces a client's id with its user name: nobody can take over another user's connection, and each user is
  one live connection — one user per process instance);
- ``motcua.passwd``: one user per process and device group, Mosquitto's PBKDF2-SHA512 ``$7$`` hashes
  (computed here: the same format ``mosquitto_passwd`` writes);
- ``motcua.acl``: from queue_server.mqtt_access;
- ``secrets/<user>.password``: each user's password in clear for that process's EnvironmentFile, mode 0600, in a
  directory with a ``.gitignore`` of ``*``. A password already there is kept (re-running never locks devices
  out); a user no longer listed keeps its file but loses its broker entry;
- with TLS: ``certs/ca.crt``, ``certs/ca.key`` (0600), ``certs/server.crt``, ``certs/server.key`` (0600) for the
  host names given — a local CA kept and reused on later runs.

Must not start processes or read the hub's store.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from queue_server.mqtt_access import BrokerInventory, acl_text

# per listener: Mosquitto 2.0.11 reads it into the listener being defined (above the first one it is lost)
USERNAME_AS_CLIENTID = "use_username_as_clientid true"
PBKDF2_ITERATIONS = 101      # mosquitto_passwd's own default for $7$
SALT_BYTES = 12
CERT_DAYS = 3650


def mosquitto_hash(password: str, *, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS) -> str:
    """Mosquitto's ``$7$<iterations>$<salt b64>$<sha512 pbkdf2 b64>`` password hash."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, 64)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _write_private(path: Path, text: str | bytes) -> None:
    """Create with mode 0600 from the start (never world-readable, even for a moment)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(text.encode("utf-8") if isinstance(text, str) else text)
    os.chmod(path, 0o600)


@dataclass(frozen=True, slots=True)
class BrokerFiles:
    conf: Path
    passwd: Path
    acl: Path
    secrets_dir: Path
    ca: Path | None = None
    server_cert: Path | None = None
    server_key: Path | None = None

    def password_file(self, user: str) -> Path:
        return self.secrets_dir / f"{user}.password"

    def password(self, user: str) -> str:
        return self.password_file(user).read_text(encoding="utf-8").strip()


def write_center_broker(inv: BrokerInventory, out_dir: Path, *, tls: bool = True, lan_port: int = 8883,
                        local_port: int = 1883, lan_host: str = "", hostnames: tuple[str, ...] = ("localhost",),
                        install_dir: Path | None = None, persistence_dir: str = "/var/lib/mosquitto/",
                        persistence: list[str] | None = None, province_bridge: str = "") -> BrokerFiles:
    """Write the broker files for ``inv`` into ``out_dir``; ``install_dir`` is where they will live on the
    broker's machine (the paths inside motcua.conf), default ``out_dir`` itself. ``persistence`` replaces the
    persistence lines and ``province_bridge`` (a ``connection`` section) is appended: a site bridged to the
    province gets one file (Mosquitto refuses persistence set twice)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    where = install_dir if install_dir is not None else out_dir.resolve()
    sec = out_dir / "secrets"
    sec.mkdir(mode=0o700, exist_ok=True)
    (sec / ".gitignore").write_text("# generated passwords: never commit\n*\n", encoding="utf-8")
    lines = []
    for user in inv.users:
        pfile = sec / f"{user}.password"
        if pfile.exists() and pfile.read_text(encoding="utf-8").strip():
            password = pfile.read_text(encoding="utf-8").strip()
        else:
            password = secrets.token_urlsafe(24)
            _write_private(pfile, password + "\n")
        lines.append(f"{user}:{mosquitto_hash(password)}")
    passwd = out_dir / "motcua.passwd"
    _write_private(passwd, "\n".join(lines) + "\n")
    acl = out_dir / "motcua.acl"
    acl.write_text(acl_text(inv), encoding="utf-8")
    files = BrokerFiles(out_dir / "motcua.conf", passwd, acl, sec)
    if tls:
        files = _write_pki(out_dir / "certs", inv.center, hostnames, files)
    conf = [f"# motcua: Mosquitto for center {inv.center} (written by `motcua deploy broker`)",
            "# Every client authenticates; each process has its own user; the ACL gives each only what it needs.",
            "per_listener_settings false", "allow_anonymous false",
            f"password_file {where / 'motcua.passwd'}", f"acl_file {where / 'motcua.acl'}",
            "# client ids: on every listener the broker replaces the id a client sends with its user name",
            "# (use_username_as_clientid), so no user can take over another's connection by reusing its id. Hence",
            "# ONE live connection per user: one user per process instance (two sharing one knock each other off).",
            "# The setting belongs to each listener (Mosquitto 2.0 ignores it above the first `listener` line).",
            "", "# the hub, on this machine only", f"listener {local_port} 127.0.0.1", USERNAME_AS_CLIENTID, ""]
    conf.append("# the LAN: kiosks, bridges, displays" + (" (TLS)" if tls else " (NO TLS: a closed LAN only)"))
    conf.append(f"listener {lan_port}" + (f" {lan_host}" if lan_host else ""))
    conf.append(USERNAME_AS_CLIENTID)
    if tls:
        conf += [f"cafile {where / 'certs' / 'ca.crt'}", f"certfile {where / 'certs' / 'server.crt'}",
                 f"keyfile {where / 'certs' / 'server.key'}", "tls_version tlsv1.2"]
    conf += ["", *(persistence if persistence is not None else
                   ["persistence true", f"persistence_location {persistence_dir}", "max_queued_messages 10000"]),
             "set_tcp_nodelay true",
             "# a payload bigger than any motcua message is refused by the broker itself", "message_size_limit 65536",
             ""]
    if province_bridge:
        conf += ["# the bridge to the province broker (its local side is inside Mosquitto: no client id to share)",
                 province_bridge]
    if "remote_password" in province_bridge:
        _write_private(files.conf, "\n".join(conf))      # it holds the site's password at the province
    else:
        files.conf.write_text("\n".join(conf), encoding="utf-8")
    return files


def _write_pki(certs: Path, center: str, hostnames: tuple[str, ...], files: BrokerFiles) -> BrokerFiles:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    certs.mkdir(parents=True, exist_ok=True)
    ca_crt, ca_key_path = certs / "ca.crt", certs / "ca.key"
    now = dt.datetime.now(dt.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "motcua"),
                          x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    if ca_crt.exists() and ca_key_path.exists():     # keep the CA every device already trusts
        ca_cert = x509.load_pem_x509_certificate(ca_crt.read_bytes())
        loaded = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        ca_key = loaded
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = (x509.CertificateBuilder().subject_name(name(f"motcua CA {center}"))
                   .issuer_name(name(f"motcua CA {center}")).public_key(ca_key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
                   .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                                key_encipherment=False, data_encipherment=False,
                                                key_agreement=False, key_cert_sign=True, crl_sign=True,
                                                encipher_only=False, decipher_only=False), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
                   .sign(ca_key, hashes.SHA256()))
        _write_private(ca_key_path, pem_key(ca_key))
        ca_crt.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    alt: list[x509.GeneralName] = []
    for h in hostnames:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            alt.append(x509.DNSName(h))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name(hostnames[0] if hostnames else center))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=CERT_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    server_crt, server_key = certs / "server.crt", certs / "server.key"
    _write_private(server_key, pem_key(key))
    server_crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return BrokerFiles(files.conf, files.passwd, files.acl, files.secrets_dir, ca_crt, server_crt, server_key)


def write_device_keys(devices: list[str], out_dir: Path) -> Path:
    """One HTTP device key per kiosk or rating tablet in ``secrets/<device>.device-key`` (0600, kept when
    already there), and ``hub-device-keys.env`` (0600) for the hub's EnvironmentFile:
    ``MOTCUA_SECURITY__DEVICE_KEYS=[...]`` (a TOML array, as every MOTCUA_ override is read)."""
    sec = out_dir / "secrets"
    sec.mkdir(parents=True, mode=0o700, exist_ok=True)
    (sec / ".gitignore").write_text("# generated passwords: never commit\n*\n", encoding="utf-8")
    keys = []
    for dev in devices:
        path = sec / f"{dev}.device-key"
        key = path.read_text(encoding="utf-8").strip() if path.exists() else ""
        if len(key) < 16:
            key = secrets.token_urlsafe(24)
            _write_private(path, key + "\n")
        keys.append(key)
    env = out_dir / "secrets" / "hub-device-keys.env"
    _write_private(env, "MOTCUA_SECURITY__DEVICE_KEYS='[" + ", ".join(f'"{k}"' for k in keys) + "]'\n")
    return env

"""A throwaway PKI and a real Mosquitto with TLS listeners and a password file, made inside a test.

``make_pki`` writes a CA, a server certificate for 127.0.0.1 (only: so
``localhost`` is a name it does not carry) signed by it, a client certificate
signed by it, and a second, unrelated CA (what a client trusting the wrong authority holds), all with the
``cryptography`` package. ``start_tls_mosquitto`` runs Mosquitto with: a TLS listener (password required), a
TLS listener that also requires a client certificate, and the password file made by ``mosquitto_passwd``.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from netutil import free_port, wait_for_port

# Fixed validity window around a fixed instant would break TLS (the machine's clock checks it), so the
# certificates are valid from a day before to a year after whatever "now" the machine has.
_ONE_DAY = dt.timedelta(days=1)

USER, PASSWORD = "bridge-1", "s3cret-for-this-test-only"


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(cn: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn)).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - _ONE_DAY)
            .not_valid_after(now + 365 * _ONE_DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def _leaf(cn: str, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, *, server: bool
          ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - _ONE_DAY).not_valid_after(now + 365 * _ONE_DAY)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                              critical=False)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                     else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def _pem(cert: x509.Certificate, path: Path) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def make_pki(folder: Path) -> Pki:
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = _ca("motcua test CA")
    server, server_key = _leaf("127.0.0.1", ca, ca_key, server=True)
    client, client_key = _leaf("bridge-1", ca, ca_key, server=False)
    other, _ = _ca("somebody else's CA")
    _write_key(server_key, folder / "server.key")
    _write_key(client_key, folder / "client.key")
    return Pki(_pem(ca, folder / "ca.crt"), _pem(server, folder / "server.crt"), folder / "server.key",
               _pem(client, folder / "client.crt"), folder / "client.key", _pem(other, folder / "other-ca.crt"))


def _spawn(config: Path) -> subprocess.Popen[bytes]:
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    return subprocess.Popen([exe, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@dataclass
class TlsBroker:
    process: subprocess.Popen[bytes]
    config: Path
    tls_port: int            # TLS + password
    mutual_port: int         # TLS + password + client certificate
    pki: Pki
    host: str = "127.0.0.1"

    def restart(self) -> None:
        self.stop()
        self.process = _spawn(self.config)
        wait_for_port(self.tls_port)
        wait_for_port(self.mutual_port)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_tls_mosquitto(folder: Path) -> TlsBroker:
    pki = make_pki(folder / "pki")
    passwd = folder / "passwd"
    tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    subprocess.run([tool, "-b", "-c", str(passwd), USER, PASSWORD], check=True, capture_output=True)
    passwd.chmod(0o600)
    tls_port, mutual_port = free_port(), free_port()
    config = folder / "mosquitto.conf"
    tls = f"cafile {pki.ca}\ncertfile {pki.server_cert}\nkeyfile {pki.server_key}\ntls_version tlsv1.2\n"
    config.write_text(
        "per_listener_settings false\n"
        "allow_anonymous false\n"
        f"password_file {passwd}\n"
        "persistence false\n"
        # run as whoever started the test: a dropped-to "mosquitto" user could not read the temp files
        f"user {_user()}\n"
        f"listener {tls_port} 127.0.0.1\n{tls}"
        f"listener {mutual_port} 127.0.0.1\n{tls}require_certificate true\n"
    )
    proc = _spawn(config)
    wait_for_port(tls_port)
    wait_for_port(mutual_port)
    return TlsBroker(proc, config, tls_port, mutual_port, pki)


def _user() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name

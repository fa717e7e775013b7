"""Signing test files with a C2PA manifest, under a throwaway CA the tests make (the c2pa-python SDK
refuses a self-signed leaf: it wants a root and a leaf for e-mail protection or document signing)."""
import datetime
import io
import json

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tessera tests")])


def make_test_ca():
    """(leaf_pem + root_pem chain, leaf key PEM in PKCS#8, root PEM)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = (x509.CertificateBuilder().subject_name(_name("Tessera test root")).issuer_name(_name("Tessera test root"))
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(_name("Tessera test signer")).issuer_name(root.subject)
            .public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    root_pem = root.public_bytes(pem)
    key_pem = leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return leaf.public_bytes(pem) + root_pem, key_pem, root_pem


def signed_jpeg(entries, *, size=(32, 24), colour="teal", ca=None):
    """JPEG bytes carrying a C2PA manifest with a cawg.training-mining assertion of these entries."""
    chain, key, _ = ca or make_test_ca()
    source = io.BytesIO()
    Image.new("RGB", size, colour).save(source, "JPEG")
    source.seek(0)
    manifest = {
        "claim_generator_info": [{"name": "tessera-test", "version": "0.1"}],
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [{"action": "c2pa.created", "digitalSourceType":
                "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}]}},
            {"label": "cawg.training-mining", "data": {"entries": entries}},
        ],
    }
    info = c2pa.C2paSignerInfo(alg=c2pa.C2paSigningAlg.ES256, sign_cert=chain, private_key=key, ta_url=None)
    settings = {"builder": {"thumbnail": {"enabled": False}},
                "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
    output = io.BytesIO()
    with c2pa.Context.from_dict(settings) as context, c2pa.Signer.from_info(info) as signer, \
            c2pa.Builder(json.dumps(manifest), context) as builder:
        builder.sign(signer, "image/jpeg", source, output)
    return output.getvalue()

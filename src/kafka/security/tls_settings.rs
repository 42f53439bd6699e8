//! The TLS client configuration from librdkafka's `ssl.*` options: whom to
//! trust (`ssl.ca.*`, or the system's store), who we are (`ssl.certificate.*`
//! and `ssl.key.*`, for mutual TLS) and what is checked of the broker.
//!
//! Errors name the option and say why, and never quote a key or a password.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ClientConfig, RootCertStore};
use zeroize::Zeroizing;

use super::pem_files::read_pem_file;
use super::verifier;

/// The `ssl.*` options as set (None: unset).
#[derive(Default)]
pub struct TlsOptions<'a> {
    pub ca_location: Option<&'a str>,
    pub ca_pem: Option<&'a str>,
    pub certificate_location: Option<&'a str>,
    pub certificate_pem: Option<&'a str>,
    pub key_location: Option<&'a str>,
    pub key_pem: Option<&'a str>,
    pub key_password: Option<&'a str>,
    /// enable.ssl.certificate.verification
    pub verify_certificate: bool,
    /// ssl.endpoint.identification.algorithm=https
    pub verify_name: bool,
}

/// Builds the configuration every TLS connection of a producer shares.
pub fn client_config(options: &TlsOptions) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let server_verifier = match options.verify_certificate {
        true => verifier::checking(trusted_roots(options)?, options.verify_name, &provider)?,
        false => verifier::accepting_any(&provider),
    };
    let builder = builder.dangerous().with_custom_certificate_verifier(server_verifier);
    let config = match client_identity(options)? {
        Some((certificates, key)) => builder
            .with_client_auth_cert(certificates, key)
            .map_err(|e| format!("ssl.certificate.*/ssl.key.*: the client certificate and key cannot be used: {e}"))?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The CAs a broker's certificate must chain to: `ssl.ca.location` (a PEM
/// file or a directory of them) and `ssl.ca.pem`, or else the system's
/// store (also when ssl.ca.location is "probe", as in librdkafka).
fn trusted_roots(options: &TlsOptions) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let location = options.ca_location.filter(|l| !l.eq_ignore_ascii_case("probe"));
    if let Some(location) = location {
        for certificate in certificates_at(location, "ssl.ca.location")? {
            roots.add(certificate).map_err(|e| format!("ssl.ca.location: {location}: {e}"))?;
        }
    }
    if let Some(pem) = options.ca_pem {
        for certificate in certificates_in(pem.as_bytes(), "ssl.ca.pem")? {
            roots.add(certificate).map_err(|e| format!("ssl.ca.pem: {e}"))?;
        }
    }
    if location.is_none() && options.ca_pem.is_none() {
        let found = rustls_native_certs::load_native_certs();
        let (added, _) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            let why = found.errors.first().map_or_else(|| "none found".to_owned(), |e| e.to_string());
            return Err(format!(
                "ssl.ca.location: not set, and the system's CA certificates cannot be read ({why}): set ssl.ca.location or ssl.ca.pem"
            ));
        }
    }
    Ok(roots)
}

/// Our certificate chain and key, when both are given; an error when only
/// one of them is.
#[allow(clippy::type_complexity)]
fn client_identity(options: &TlsOptions) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, String> {
    let certificates = match (options.certificate_location, options.certificate_pem) {
        (Some(_), Some(_)) => return Err("ssl.certificate.location and ssl.certificate.pem are both set: set one".into()),
        (Some(location), None) => Some(certificates_at(location, "ssl.certificate.location")?),
        (None, Some(pem)) => Some(certificates_in(pem.as_bytes(), "ssl.certificate.pem")?),
        (None, None) => None,
    };
    let key = match (options.key_location, options.key_pem) {
        (Some(_), Some(_)) => return Err("ssl.key.location and ssl.key.pem are both set: set one".into()),
        (Some(location), None) => {
            let pem = Zeroizing::new(read_pem_file(Path::new(location), &format!("ssl.key.location: {location}"))?);
            Some(private_key(&pem, options.key_password, "ssl.key.location")?)
        }
        (None, Some(pem)) => Some(private_key(pem.as_bytes(), options.key_password, "ssl.key.pem")?),
        (None, None) => None,
    };
    match (certificates, key) {
        (Some(certificates), Some(key)) => Ok(Some((certificates, key))),
        (None, None) => Ok(None),
        (Some(_), None) => {
            Err("ssl.certificate.location/ssl.certificate.pem: a client certificate needs its key: set ssl.key.location or ssl.key.pem"
                .into())
        }
        (None, Some(_)) => {
            Err("ssl.key.location/ssl.key.pem: a client key needs its certificate: set ssl.certificate.location or ssl.certificate.pem"
                .into())
        }
    }
}

/// Every certificate in a PEM file, or in every PEM file of a directory.
fn certificates_at(location: &str, option: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let path = Path::new(location);
    if !path.is_dir() {
        let pem = read_pem_file(path, &format!("{option}: {location}"))?;
        return certificates_in(&pem, &format!("{option}: {location}"));
    }
    let entries = std::fs::read_dir(path).map_err(|e| format!("{option}: {location}: {e}"))?;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        // Other files may sit beside the certificates (hash links, READMEs),
        // and devices, FIFOs or huge files (/dev, /proc): skipped.
        if let Ok(pem) = read_pem_file(&entry.path(), "") {
            found.extend(CertificateDer::pem_slice_iter(&pem).map_while(Result::ok));
        }
    }
    match found.is_empty() {
        true => Err(format!("{option}: {location}: no PEM certificate in this directory")),
        false => Ok(found),
    }
}

fn certificates_in(pem: &[u8], source: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certificates: Vec<_> =
        CertificateDer::pem_slice_iter(pem).collect::<Result<_, _>>().map_err(|e| format!("{source}: not PEM certificates: {e}"))?;
    match certificates.is_empty() {
        true => Err(format!("{source}: no PEM certificate (\"-----BEGIN CERTIFICATE-----\") found")),
        false => Ok(certificates),
    }
}

/// A PEM private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC), or an encrypted
/// PKCS#8 key opened with `password` (ssl.key.password).
fn private_key(pem: &[u8], password: Option<&str>, option: &str) -> Result<PrivateKeyDer<'static>, String> {
    const ENCRYPTED: &[u8] = b"-----BEGIN ENCRYPTED PRIVATE KEY-----";
    if !pem.windows(ENCRYPTED.len()).any(|w| w == ENCRYPTED) {
        return PrivateKeyDer::from_pem_slice(pem).map_err(|e| format!("{option}: not a PEM private key: {}", pem_error(&e)));
    }
    let Some(password) = password else {
        return Err(format!("{option}: the key is encrypted: set ssl.key.password"));
    };
    let text = std::str::from_utf8(pem).map_err(|_| format!("{option}: not a PEM private key"))?;
    let begin = text.find("-----BEGIN ENCRYPTED PRIVATE KEY-----").unwrap_or(0);
    let (_, der) =
        pkcs8::der::pem::decode_vec(&text.as_bytes()[begin..]).map_err(|_| format!("{option}: the encrypted key is not valid PEM"))?;
    let der = Zeroizing::new(der);
    let encrypted =
        pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice()).map_err(|_| format!("{option}: not an encrypted PKCS#8 key"))?;
    let decrypted = encrypted
        .decrypt(password.as_bytes())
        .map_err(|_| format!("{option}: the key cannot be decrypted with ssl.key.password (wrong password, or a cipher not supported)"))?;
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(decrypted.as_bytes().to_vec())))
}

/// A PEM error without the bytes it was looking at.
fn pem_error(error: &rustls::pki_types::pem::Error) -> &'static str {
    use rustls::pki_types::pem::Error;
    match error {
        Error::NoItemsFound => "no \"-----BEGIN PRIVATE KEY-----\" (or RSA/EC PRIVATE KEY) found",
        Error::Io(_) => "cannot be read",
        _ => "malformed PEM",
    }
}

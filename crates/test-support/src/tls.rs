//! A certificate authority made in the test, and server certificates from it: valid, expired, or
//! for another name. Written as PEM files, as an administrator would have them.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};

/// A test CA: its certificate's PEM file in `dir`, and a way to issue server certificates.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    /// The CA certificate, PEM: what a client is told to trust.
    pub cert_file: PathBuf,
}

/// A server certificate and its key, as PEM files.
pub struct Issued {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// How long an issued certificate is valid.
pub enum Validity {
    /// From a year ago to a year from now.
    Current,
    /// Ended years ago.
    Expired,
}

impl TestCa {
    /// A new CA named `name`, its certificate written to `dir/<name>-ca.pem`.
    pub fn new(dir: &Path, name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("a CA key");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("a self-signed CA");
        let cert_file = dir.join(format!("{name}-ca.pem"));
        std::fs::write(&cert_file, issuer.pem()).expect("the CA file is written");
        TestCa { issuer, cert_file }
    }

    /// A server certificate for `names` (DNS names or IP addresses), written to
    /// `dir/<file>.pem` and `dir/<file>.key`.
    pub fn issue(&self, dir: &Path, file: &str, names: &[&str], validity: Validity) -> Issued {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("server params");
        params
            .distinguished_name
            .push(DnType::CommonName, "presently test server");
        let now = time_now_ymd();
        match validity {
            Validity::Current => {
                params.not_before = rcgen::date_time_ymd(now - 1, 1, 1);
                params.not_after = rcgen::date_time_ymd(now + 1, 12, 31);
            }
            Validity::Expired => {
                params.not_before = rcgen::date_time_ymd(now - 4, 1, 1);
                params.not_after = rcgen::date_time_ymd(now - 3, 1, 1);
            }
        }
        let key = KeyPair::generate().expect("a server key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("a certificate signed by the CA");
        let issued = Issued {
            cert_file: dir.join(format!("{file}.pem")),
            key_file: dir.join(format!("{file}.key")),
        };
        std::fs::write(&issued.cert_file, cert.pem()).expect("the certificate is written");
        std::fs::write(&issued.key_file, key.serialize_pem()).expect("the key is written");
        issued
    }
}

/// This year, from the system clock (certificates are checked against it).
fn time_now_ymd() -> i32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    1970 + (secs / 31_556_952) as i32
}

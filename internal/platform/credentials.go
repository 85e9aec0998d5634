package platform

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// LocalTLS is a local certificate authority and a wildcard certificate it
// signed for the platform's host names.
type LocalTLS struct {
	CACert   []byte // PEM, for users to trust in their browser
	Cert     []byte // PEM chain: leaf then CA
	Key      []byte // PEM, PKCS#8
	NotAfter time.Time
}

// Hosts are the names the platform serves under its domain. They are listed
// in the certificate one by one: TLS clients (OpenSSL, browsers) refuse a
// wildcard directly under a single-label name such as *.localhost.
var Hosts = []string{"shop", "traefik", "shop-naive"}

// NewLocalTLS creates a CA and a certificate for domain, each of Hosts under
// it, and *.domain.
// The CA key is discarded after signing: nothing else can be signed with
// it, which is what a throwaway local CA should allow.
func NewLocalTLS(domain string, now time.Time) (LocalTLS, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return LocalTLS{}, err
	}
	serial := func() *big.Int {
		n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
		return n
	}
	ca := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "berth local CA (" + domain + ")", Organization: []string{"berth"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(2, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		PermittedDNSDomains:   []string{domain},
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return LocalTLS{}, fmt.Errorf("creating the local CA: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return LocalTLS{}, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return LocalTLS{}, err
	}
	leaf := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "*." + domain},
		DNSNames:     dnsNames(domain),
		NotBefore:    now.Add(-time.Hour),
		// Under 398 days: what browsers accept for a server certificate.
		NotAfter:    now.AddDate(0, 0, 397),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return LocalTLS{}, fmt.Errorf("signing the certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(leafKey)
	if err != nil {
		return LocalTLS{}, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), caPEM...)
	return LocalTLS{
		CACert:   caPEM,
		Cert:     chain,
		Key:      pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		NotAfter: leaf.NotAfter,
	}, nil
}

func dnsNames(domain string) []string {
	names := []string{domain}
	for _, h := range Hosts {
		names = append(names, h+"."+domain)
	}
	return append(names, "*."+domain)
}

// RandomPassword returns n random bytes as URL-safe base64 (no padding).
func RandomPassword(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// HtpasswdLine returns a "user:bcrypt-hash" line as Traefik's basicAuth
// usersFile reads it.
func HtpasswdLine(user, password string) ([]byte, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return nil, err
	}
	return []byte(user + ":" + string(h) + "\n"), nil
}

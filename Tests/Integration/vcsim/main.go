// vcsim serves govmomi's vSphere simulator (Debian: golang-github-vmware-govmomi-dev) over HTTPS,
// as a vCenter (-mode vpx) or a standalone ESXi host (-mode esx), for Skiff's deploy tests.
// Built and started by Tests/Integration/vcsim.bash; see README.md next to this file.
//
// On start-up it prints, one per line:
//
//	url: https://ADDRESS:PORT/sdk
//	sha1: AA:BB:...        (the served certificate's SHA-1 thumbprint, as vSphere shows it)
//	sha256: AA:BB:...
//	ready
//
// and on SIGTERM or SIGINT it closes the server, deletes the datastores' temporary folders and
// exits 0. The password comes from -password or, better (it stays out of ps), $VCSIM_PASSWORD.
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
)

func fatal(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "vcsim: "+format+"\n", args...)
	os.Exit(1)
}

func thumbprint(sum []byte) string {
	hex := make([]string, len(sum))
	for i, b := range sum {
		hex[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(hex, ":")
}

// selfSigned makes an RSA-2048 certificate for the listen address and the extra names, so that a
// client which verifies the certificate against it (curl --cacert) also accepts the host name.
func selfSigned(host string, names []string) (tls.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	template := x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: host, Organization: []string{"Skiff vcsim"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, name := range append([]string{host}, names...) {
		if ip := net.ParseIP(name); ip != nil {
			template.IPAddresses = append(template.IPAddresses, ip)
		} else if name != "" {
			template.DNSNames = append(template.DNSNames, name)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, &template, &template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// serve starts the server; the simulator panics when it cannot listen (address in use or absent).
func serve(model *simulator.Model) (server *simulator.Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return model.Service.NewServer(), nil
}

func main() {
	mode := flag.String("mode", "vpx", "vpx (a vCenter) or esx (a standalone ESXi host)")
	listen := flag.String("listen", "127.0.0.1:8989", "address:port to serve on")
	username := flag.String("username", "user", "the only user name Login accepts")
	password := flag.String("password", "", "the only password Login accepts (default: $VCSIM_PASSWORD, else \"pass\")")
	certFile := flag.String("cert", "", "PEM certificate to serve (default: a new self-signed one for -listen's address)")
	keyFile := flag.String("key", "", "PEM private key for -cert")
	names := flag.String("names", "", "comma-separated extra DNS names or IPs for the self-signed certificate")
	certOut := flag.String("cert-out", "", "write the served certificate (PEM) to this file, for curl --cacert")
	flag.Parse()

	pass := *password
	if pass == "" {
		pass = os.Getenv("VCSIM_PASSWORD")
	}
	if pass == "" {
		pass = "pass"
	}

	var model *simulator.Model
	switch *mode {
	case "vpx":
		model = simulator.VPX()
	case "esx":
		model = simulator.ESX()
	default:
		fatal("unknown -mode %q (vpx or esx)", *mode)
	}

	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		fatal("bad -listen %q: %v", *listen, err)
	}
	var cert tls.Certificate
	if *certFile != "" {
		cert, err = tls.LoadX509KeyPair(*certFile, *keyFile)
	} else {
		var extra []string
		if *names != "" {
			extra = strings.Split(*names, ",")
		}
		cert, err = selfSigned(host, extra)
	}
	if err != nil {
		fatal("certificate: %v", err)
	}
	if *certOut != "" {
		block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
		if err := os.WriteFile(*certOut, block, 0644); err != nil {
			fatal("cert-out: %v", err)
		}
	}

	if err := model.Create(); err != nil {
		fatal("model: %v", err)
	}
	// A fresh Userinfo (not simulator.DefaultLogin) makes Login accept only this pair.
	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*username, pass)}
	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	server, err := serve(model)
	if err != nil {
		model.Remove()
		fatal("%v", err)
	}

	sha1Sum := sha1.Sum(cert.Certificate[0])
	sha256Sum := sha256.Sum256(cert.Certificate[0])
	fmt.Printf("url: https://%s/sdk\n", *listen)
	fmt.Printf("sha1: %s\n", thumbprint(sha1Sum[:]))
	fmt.Printf("sha256: %s\n", thumbprint(sha256Sum[:]))
	fmt.Println("ready")

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	<-signals
	server.Close()
	model.Remove()
	fmt.Println("stopped")
}

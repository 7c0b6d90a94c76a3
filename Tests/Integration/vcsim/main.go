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
//
// With -fail, requests about names that start with fail- or slow- go wrong, so that a client's
// rollback paths can be tested (each injected fault is logged as a line starting "fault: "):
//
//	PUT /folder/...fail-put...    the first half of the body is stored (a cut-short file, as a
//	                              dropped connection leaves), the rest read and dropped, then 500
//	PUT /folder/...slow-put...    the body is read at 1 MiB/s (time to send a signal mid-upload)
//	CreateVM_Task of fail-create* the simulator runs it with one more device change, an edit of a
//	                              device that is not there: it fails (InvalidDeviceSpec) after it
//	                              made the VM's files (NAME.vmx, .nvram, vmware.log, new disks)
//	PowerOnVM_Task of fail-poweron*  a task that fails with SystemError
//	ImportVApp of fail-nfc*       the lease's NFC uploads answer 500 after half the body
//
// and every HttpNfcLeaseAbort is logged with its HTTP status and the fault it carries as the
// simulator read it ("fault: HttpNfcLeaseAbort lease-N: HTTP 200, fault SystemError: MESSAGE", or
// "no fault read": the simulator ignores a fault it cannot read, where a real server refuses). The simulator's own server then
// listens on 127.0.0.1 (any port) and a second one on -listen passes every request to the same
// handlers through the injector.
package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/signal"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// faults wraps the simulator's handlers (see the header).
type faults struct {
	next http.Handler
	mu   sync.Mutex
	// Leases of ImportVApp calls for fail-nfc* entities.
	leases map[string]bool
}

// call is what the injector needs of a SOAP request: the method, _this, and the name of the VM
// a CreateVM_Task (config/name) or an ImportVApp (spec/configSpec/name) makes.
type call struct {
	method, this, name string
}

func parseCall(body []byte) call {
	var c call
	decoder := xml.NewDecoder(bytes.NewReader(body))
	var stack []string
	inBody := false
	for {
		token, err := decoder.Token()
		if err != nil {
			return c
		}
		switch t := token.(type) {
		case xml.StartElement:
			if inBody && c.method == "" {
				c.method = t.Name.Local
			}
			if t.Name.Local == "Body" {
				inBody = true
			}
			stack = append(stack, t.Name.Local)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			n := len(stack)
			if n >= 1 && stack[n-1] == "_this" && c.this == "" {
				c.this = strings.TrimSpace(string(t))
			}
			if n >= 2 && stack[n-1] == "name" && (stack[n-2] == "config" || stack[n-2] == "configSpec") && c.name == "" {
				c.name = string(t)
			}
		}
	}
}

type slowReader struct{ r io.Reader }

func (s *slowReader) Read(p []byte) (int, error) {
	if len(p) > 64<<10 {
		p = p[:64<<10]
	}
	time.Sleep(time.Second / 16)
	return s.r.Read(p)
}

// failBody reads half the body into keep (nil: dropped), the rest into nothing, and answers 500.
func failBody(w http.ResponseWriter, r *http.Request, keep func(*http.Request)) {
	half := r.ContentLength / 2
	if keep != nil {
		rest := r.Body
		r.Body = ioutil.NopCloser(io.LimitReader(rest, half))
		r.ContentLength = half
		keep(r)
		r.Body = rest
	} else {
		_, _ = io.CopyN(ioutil.Discard, r.Body, half)
	}
	_, _ = io.Copy(ioutil.Discard, r.Body)
	http.Error(w, "fault injected by vcsim -fail", http.StatusInternalServerError)
}

var leaseReturn = regexp.MustCompile(`<returnval type="HttpNfcLease">([^<]+)</returnval>`)

func taskResponse(w http.ResponseWriter, method string, task types.ManagedObjectReference) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">`+
		`<soapenv:Body><%sResponse xmlns="urn:vim25"><returnval type="Task">%s</returnval></%sResponse></soapenv:Body></soapenv:Envelope>`,
		method, task.Value, method)
}

func (f *faults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/folder/") && r.Method == http.MethodPut:
		if strings.Contains(r.URL.Path, "fail-put") {
			log.Printf("fault: PUT %s: half the body stored, then 500", r.URL.Path)
			failBody(w, r, func(half *http.Request) { f.next.ServeHTTP(httptest.NewRecorder(), half) })
			return
		}
		if strings.Contains(r.URL.Path, "slow-put") {
			log.Printf("fault: PUT %s: read at 1 MiB/s", r.URL.Path)
			r.Body = ioutil.NopCloser(&slowReader{r.Body})
		}
	case strings.HasPrefix(r.URL.Path, "/nfc/"):
		parts := strings.Split(r.URL.Path, "/")
		f.mu.Lock()
		failing := len(parts) > 2 && f.leases[parts[2]]
		f.mu.Unlock()
		if failing {
			log.Printf("fault: %s %s: 500 after half the body", r.Method, r.URL.Path)
			failBody(w, r, nil)
			return
		}
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/sdk"):
		body, err := ioutil.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c := parseCall(body)
		switch {
		case c.method == "CreateVM_Task" && strings.HasPrefix(c.name, "fail-create"):
			if end := bytes.LastIndex(body, []byte("</config>")); end >= 0 {
				log.Printf("fault: CreateVM_Task %s: an edit of a missing device added", c.name)
				bad := []byte(`<deviceChange><operation>edit</operation><device xsi:type="VirtualMachineVideoCard"><key>-999999</key></device></deviceChange>`)
				body = append(body[:end:end], append(bad, body[end:]...)...)
			}
		case c.method == "PowerOnVM_Task":
			ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: c.this}
			name := ""
			if vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine); ok {
				simulator.Map.WithLock(vm, func() { name = vm.Name })
			}
			if strings.HasPrefix(name, "fail-poweron") {
				log.Printf("fault: PowerOnVM_Task %s: the task fails", name)
				task := simulator.CreateTask(ref, "powerOn", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
					return nil, &types.SystemError{Reason: "fault injected by vcsim -fail"}
				})
				taskResponse(w, "PowerOnVM_Task", task.Run())
				return
			}
		case c.method == "ImportVApp" && strings.HasPrefix(c.name, "fail-nfc"), c.method == "HttpNfcLeaseAbort":
			r.Body = ioutil.NopCloser(bytes.NewReader(body))
			recorder := httptest.NewRecorder()
			f.next.ServeHTTP(recorder, r)
			if c.method == "HttpNfcLeaseAbort" {
				// The simulator drops a fault it cannot read without a word; a real server
				// rejects the call. Say what it read.
				detail := "no fault read"
				if m, err := simulator.UnmarshalBody(types.TypeFunc(), body); err == nil {
					if req, ok := m.Body.(*types.HttpNfcLeaseAbort); ok && req.Fault != nil && req.Fault.Fault != nil {
						detail = fmt.Sprintf("fault %s: %s", reflect.TypeOf(req.Fault.Fault).Elem().Name(), req.Fault.LocalizedMessage)
					}
				}
				log.Printf("fault: HttpNfcLeaseAbort %s: HTTP %d, %s", c.this, recorder.Code, detail)
			} else if m := leaseReturn.FindSubmatch(recorder.Body.Bytes()); m != nil {
				log.Printf("fault: ImportVApp %s: the uploads to lease %s will fail", c.name, m[1])
				f.mu.Lock()
				f.leases[string(m[1])] = true
				f.mu.Unlock()
			}
			for name, values := range recorder.Header() {
				w.Header()[name] = values
			}
			w.WriteHeader(recorder.Code)
			_, _ = w.Write(recorder.Body.Bytes())
			return
		}
		r.Body = ioutil.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	f.next.ServeHTTP(w, r)
}

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
	fail := flag.Bool("fail", false, "inject faults for names starting fail- or slow- (see the source's header)")
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
	var outer *http.Server
	if *fail {
		// The simulator's handlers, registered on this mux by NewServer, behind the injector.
		model.Service.Listen.Host = "127.0.0.1:0"
		model.Service.ServeMux = http.NewServeMux()
	}
	server, err := serve(model)
	if err != nil {
		model.Remove()
		fatal("%v", err)
	}
	if *fail {
		listener, err := net.Listen("tcp", *listen)
		if err != nil {
			server.Close()
			model.Remove()
			fatal("-fail: %v", err)
		}
		outer = &http.Server{
			Handler:   &faults{next: model.Service.ServeMux, leases: map[string]bool{}},
			TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		}
		go func() { _ = outer.ServeTLS(listener, "", "") }()
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
	if outer != nil {
		_ = outer.Close()
	}
	server.Close()
	model.Remove()
	fmt.Println("stopped")
}

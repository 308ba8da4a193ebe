/* TLS on the client ports: handshakes on both ports, the client's
 * verification (wrong CA, expired certificate), what the daemon and
 * --check-config refuse alike (plain TCP, TLS 1.1, a missing or garbage
 * certificate, a key others can read, a key of another certificate), a
 * group-readable key accepted, mutual TLS binding a
 * certificate to a gateway id, certificate reload on SIGHUP, and sbctl's
 * --tls* options.
 *
 * Certificates are made once per run with the openssl command-line tool in
 * a private directory, removed at the end. The test talks OpenSSL directly
 * only where sbclient cannot: to offer an old protocol and to read the
 * serial number of the certificate a daemon presents. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "harness.h"

#define RUN_MS 10000
#define CONNECT_MS 3000
#define SERVER_SERIAL 1001
#define SERVER2_SERIAL 2002

static char certdir[64];
/* The fixtures' extra YAML; set once the certificate directory exists. */
static char yaml_main[1024], yaml_required[1024], yaml_expired[1024], yaml_reload[1024];

/* certdir/name, in one of a few rotating buffers. */
static const char *cpath(const char *name)
{
	static char bufs[8][160];
	static unsigned next;
	char *b = bufs[next++ % 8];

	snprintf(b, sizeof bufs[0], "%s/%s", certdir, name);
	return b;
}

/* Runs /usr/bin/openssl with the given arguments (NULL-terminated) in
 * certdir, its output appended to certdir/openssl.log; fails on error. */
static void ossl(const char *first, ...)
{
	const char *argv[40] = {"/usr/bin/openssl", first};
	size_t n = 2;
	va_list ap;
	int status;
	pid_t pid;

	va_start(ap, first);
	while (n < 39 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		int fd = open(cpath("openssl.log"), O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd < 0 || chdir(certdir) != 0)
			_exit(127);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		fail_msg("openssl %s failed; see %s", first, cpath("openssl.log"));
}

/* Writes text to certdir/name with the given mode. */
static void put_file(const char *name, const char *text, mode_t mode)
{
	int fd = open(cpath(name), O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		fail_msg("cannot write %s", cpath(name));
	fchmod(fd, mode);
	close(fd);
}

/* Copies certdir/from over certdir/to, keeping to's mode when it exists. */
static void copy_file(const char *from, const char *to)
{
	char buf[16384];
	FILE *in = fopen(cpath(from), "r");
	size_t n = in != NULL ? fread(buf, 1, sizeof buf - 1, in) : 0;

	if (in == NULL)
		fail_msg("cannot read %s", cpath(from));
	fclose(in);
	buf[n] = '\0';
	put_file(to, buf, 0600);
}

/* A key pair and signing request: NAME.key (mode 0600) and NAME.csr. */
static void make_csr(const char *name, const char *cn)
{
	char key[64], csr[64], subj[96];

	snprintf(key, sizeof key, "%s.key", name);
	snprintf(csr, sizeof csr, "%s.csr", name);
	snprintf(subj, sizeof subj, "/CN=%s", cn);
	ossl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
	     "-keyout", key, "-out", csr, "-subj", subj, NULL);
	chmod(cpath(key), 0600);
}

/* NAME.crt for CN=cn signed by ca (a prefix: ca.crt/ca.key), with the given
 * subjectAltName (NULL: none) and serial number. */
static void make_cert(const char *name, const char *cn, const char *san, int serial, const char *ca)
{
	char ext[256], extname[64], csr[64], crt[64], cacrt[64], cakey[64], ser[16];

	make_csr(name, cn);
	snprintf(ext, sizeof ext,
	         "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n%s%s\n",
	         san ? "subjectAltName=" : "", san ? san : "");
	snprintf(extname, sizeof extname, "%s.ext", name);
	put_file(extname, ext, 0600);
	snprintf(csr, sizeof csr, "%s.csr", name);
	snprintf(crt, sizeof crt, "%s.crt", name);
	snprintf(cacrt, sizeof cacrt, "%s.crt", ca);
	snprintf(cakey, sizeof cakey, "%s.key", ca);
	snprintf(ser, sizeof ser, "%d", serial);
	ossl("x509", "-req", "-in", csr, "-CA", cacrt, "-CAkey", cakey, "-set_serial", ser, "-days",
	     "30", "-sha256", "-extfile", extname, "-out", crt, NULL);
}

/* A self-signed CA: NAME.crt, NAME.key. */
static void make_ca(const char *name, const char *cn)
{
	char key[64], crt[64], subj[96];

	snprintf(key, sizeof key, "%s.key", name);
	snprintf(crt, sizeof crt, "%s.crt", name);
	snprintf(subj, sizeof subj, "/CN=%s", cn);
	ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
	     "-keyout", key, "-out", crt, "-days", "30", "-subj", subj, NULL);
	chmod(cpath(key), 0600);
}

/* expired.crt: valid only on 1 January 2020. `openssl x509` cannot set a
 * start date in OpenSSL 3.0, so a minimal `openssl ca` does the signing. */
static void make_expired(void)
{
	put_file("ca.cnf",
	         "[ca]\ndefault_ca = d\n"
	         "[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial.txt\n"
	         "default_md = sha256\npolicy = p\nx509_extensions = ext\nunique_subject = no\n"
	         "[p]\ncommonName = supplied\n"
	         "[ext]\nbasicConstraints = CA:FALSE\n"
	         "subjectAltName = DNS:localhost,IP:127.0.0.1\n",
	         0600);
	put_file("index.txt", "", 0600);
	put_file("serial.txt", "0BAD\n", 0600);
	make_csr("expired", "localhost");
	ossl("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.crt", "-keyfile", "ca.key", "-in",
	     "expired.csr", "-out", "expired.crt", "-notext", "-startdate", "20200101000000Z",
	     "-enddate", "20200102000000Z", NULL);
}

/* The fixture YAML for the gateway and agent ports. */
static void make_yaml(char *out, size_t len, const char *gw_cert, const char *gw_extra)
{
	snprintf(out, len,
	         "tls:\n"
	         "  gateway:\n"
	         "    cert_file: \"%s/%s.crt\"\n"
	         "    key_file: \"%s/%s.key\"\n"
	         "%s"
	         "  agent:\n"
	         "    cert_file: \"%s/server.crt\"\n"
	         "    key_file: \"%s/server.key\"\n",
	         certdir, gw_cert, certdir, gw_cert, gw_extra, certdir, certdir);
}

/* Group setup: every certificate the tests use. */
static int make_certs(void **state)
{
	char ca_line[256], req_lines[320];

	snprintf(certdir, sizeof certdir, "/tmp/sb-tls-XXXXXX");
	if (mkdtemp(certdir) == NULL)
		return -1;
	make_ca("ca", "Switchboard Test CA");
	make_ca("ca2", "Unrelated CA");
	make_cert("server", "localhost", "DNS:localhost,IP:127.0.0.1", SERVER_SERIAL, "ca");
	make_cert("server2", "localhost", "DNS:localhost,IP:127.0.0.1", SERVER2_SERIAL, "ca");
	make_cert("gw1", "gw1", NULL, 3001, "ca");
	make_cert("gw2", "gw2", "DNS:gw2.example", 3002, "ca");
	make_expired();
	snprintf(ca_line, sizeof ca_line, "    client_ca_file: \"%s/ca.crt\"\n", certdir);
	snprintf(req_lines, sizeof req_lines, "%s    require_client_cert: true\n", ca_line);
	make_yaml(yaml_main, sizeof yaml_main, "server", ca_line);
	make_yaml(yaml_required, sizeof yaml_required, "server", req_lines);
	make_yaml(yaml_expired, sizeof yaml_expired, "expired", "");
	make_yaml(yaml_reload, sizeof yaml_reload, "reload", "");
	return 0;
}

/* nftw callback: removes one entry. */
static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path);
}

/* Group teardown. */
static int remove_certs(void **state)
{
	if (getenv("SB_KEEP_TMP") == NULL)
		nftw(certdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* Starts a harness with this extra YAML. */
static int start_with(void **state, const char *yaml)
{
	struct harness_opts o = {.extra_yaml = yaml};

	*state = harness_start(&o);
	return 0;
}

static int setup_main(void **state)
{
	return start_with(state, yaml_main);
}

static int setup_required(void **state)
{
	return start_with(state, yaml_required);
}

static int setup_expired(void **state)
{
	return start_with(state, yaml_expired);
}

static int setup_reload(void **state)
{
	copy_file("server.crt", "reload.crt");
	copy_file("server.key", "reload.key");
	return start_with(state, yaml_reload);
}

/* ---- clients ------------------------------------------------------------- */

/* The settings for a client trusting ca (a prefix) with certificate cert
 * (NULL: none). Strings live in rotating static buffers. */
static struct sbc_tls tls_opts(const char *ca, const char *cert)
{
	static char bufs[6][160];
	static unsigned next;
	struct sbc_tls t = {0};
	char *b;

	b = bufs[next++ % 6];
	snprintf(b, sizeof bufs[0], "%s/%s.crt", certdir, ca);
	t.ca_file = b;
	if (cert != NULL) {
		b = bufs[next++ % 6];
		snprintf(b, sizeof bufs[0], "%s/%s.crt", certdir, cert);
		t.cert_file = b;
		b = bufs[next++ % 6];
		snprintf(b, sizeof bufs[0], "%s/%s.key", certdir, cert);
		t.key_file = b;
	}
	return t;
}

/* A TLS connection the harness owns and keeps alive; fails the test when
 * the handshake fails. */
static struct sbc *tls_connect(struct harness *h, const char *addr, const struct sbc_tls *t)
{
	char err[256] = "";
	struct sbc *c = sbc_connect_tls(addr, CONNECT_MS, t, err, sizeof err);

	if (c == NULL)
		fail_msg("TLS connect %s: %s", addr, err);
	return harness_adopt(h, c, false);
}

/* Logs in as gateway id over TLS, presenting cert (NULL: none); returns the
 * Hello's outcome (0 Welcome, Error code, -1 closed) and the client. */
static int tls_gateway(struct harness *h, const char *id, const char *cert, struct sbc **out)
{
	struct sbc_tls t = tls_opts("ca", cert);
	struct sbc *c = tls_connect(h, harness_gateway_addr(h), &t);

	*out = c;
	return sbc_hello(c, SWITCHBOARD__V1__ROLE__ROLE_GATEWAY, id, harness_gateway_secret(h, id),
	                 HARNESS_REPLY_MS, NULL);
}

/* A blocking TCP socket to "127.0.0.1:port" with 3 s I/O timeouts. */
static int raw_socket(const char *addr)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct timeval tv = {3, 0};
	const char *colon = strrchr(addr, ':');
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_non_null(colon);
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		fail_msg("connect %s failed", addr);
	return fd;
}

/* Serial number of the certificate the daemon at addr presents (verified
 * against ca.crt). */
static long served_serial(const char *addr)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int fd = raw_socket(addr);
	SSL *ssl;
	X509 *cert;
	long serial = -1;

	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_load_verify_locations(ctx, cpath("ca.crt"), NULL), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) == 1 && (cert = SSL_get1_peer_certificate(ssl)) != NULL) {
		serial = ASN1_INTEGER_get(X509_get_serialNumber(cert));
		X509_free(cert);
		SSL_shutdown(ssl);
	}
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	ERR_clear_error();
	return serial;
}

/* Waits for a line about a failed handshake with this reason (after from). */
static void expect_handshake_log(struct harness *h, const char *reason, long from)
{
	for (int i = 0; i < 40; i++) {
		long at = harness_log_find(h, "TLS handshake failed: ", from);
		while (at >= 0) {
			const char *log = harness_read_file(h, "switchboard.log");
			const char *line = log + at, *end = strchr(line, '\n');
			const char *hit = strstr(line, reason);
			if (hit != NULL && (end == NULL || hit < end))
				return;
			at = harness_log_find(h, "TLS handshake failed: ", at + 1);
		}
		harness_sleep(h, 50);
	}
	fail_msg("no \"TLS handshake failed: ...%s\" line in the daemon's log:\n%s", reason,
	         harness_read_file(h, "switchboard.log"));
}

/* Current length of the daemon's log, to look only at what follows. */
static long log_mark(struct harness *h)
{
	const char *log = harness_read_file(h, "switchboard.log");

	return log != NULL ? (long)strlen(log) : 0;
}

/* ---- tests ---------------------------------------------------------------- */

HARNESS_TEST(test_handshake_and_requests_on_both_ports)
{
	struct sbc *gw = NULL;
	struct sbc_tls t = tls_opts("ca", NULL);

	assert_int_equal(tls_gateway(h, "gw1", "gw1", &gw), 0);
	harness_keepalive(h, gw, true);
	harness_submit(h, gw, "tls-1", SWITCHBOARD__V1__CHANNEL__CHANNEL_CHAT, NULL);
	harness_assert_open(h, gw);

	struct sbc *agent = tls_connect(h, harness_agent_addr(h), &t);
	assert_int_equal(sbc_hello(agent, SWITCHBOARD__V1__ROLE__ROLE_AGENT, "alice",
	                           harness_token(h, "alice", 600), HARNESS_REPLY_MS, NULL),
	                 0);
	harness_expect(h, agent, SB_BODY(STATE_CHANGED), HARNESS_REPLY_MS);
	harness_assert_open(h, agent);
}

HARNESS_TEST(test_gateway_without_certificate_is_allowed_when_not_required)
{
	struct sbc *gw = NULL;

	assert_int_equal(tls_gateway(h, "gw1", NULL, &gw), 0);
	harness_assert_open(h, gw);
}

HARNESS_TEST(test_client_with_the_wrong_ca_refuses_the_daemon)
{
	struct sbc_tls t = tls_opts("ca2", NULL);
	char err[256] = "";
	struct sbc *c = sbc_connect_tls(harness_gateway_addr(h), CONNECT_MS, &t, err, sizeof err);

	assert_null(c);
	if (strstr(err, "certificate verify failed") == NULL)
		fail_msg("unexpected error: %s", err);
}

HARNESS_TEST(test_client_checks_the_host_name)
{
	struct sbc_tls t = tls_opts("ca", NULL);
	char err[256] = "";
	struct sbc *c;

	t.server_name = "localhost";
	c = sbc_connect_tls(harness_agent_addr(h), CONNECT_MS, &t, err, sizeof err);
	if (c == NULL)
		fail_msg("name localhost refused: %s", err);
	sbc_close(c);
	t.server_name = "switchboard.example";
	c = sbc_connect_tls(harness_agent_addr(h), CONNECT_MS, &t, err, sizeof err);
	assert_null(c);
	if (strstr(err, "certificate verify failed") == NULL)
		fail_msg("unexpected error: %s", err);
}

HARNESS_TEST(test_plain_client_on_a_tls_port_is_disconnected)
{
	long mark = log_mark(h);
	struct sbc *c = harness_connect(h, HARNESS_GATEWAY_PORT);
	int r = sbc_hello(c, SWITCHBOARD__V1__ROLE__ROLE_GATEWAY, "gw1",
	                  harness_gateway_secret(h, "gw1"), HARNESS_REPLY_MS, NULL);

	assert_int_equal(r, -1);
	expect_handshake_log(h, "error:", mark);
	assert_true(harness_daemon_alive(h));
}

HARNESS_TEST(test_tls_1_1_client_is_refused)
{
	long mark = log_mark(h);
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int fd = raw_socket(harness_agent_addr(h));
	SSL *ssl;

	/* Offer nothing newer than TLS 1.1, with ciphers old enough that
	 * OpenSSL actually sends the ClientHello. */
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
	assert_int_equal(SSL_CTX_set_cipher_list(ctx, "DEFAULT@SECLEVEL=0"), 1);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	assert_true(SSL_connect(ssl) <= 0);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	ERR_clear_error();
	expect_handshake_log(h, "unsupported protocol", mark);
}

HARNESS_TEST(test_gateway_certificate_must_name_the_gateway)
{
	struct sbc *gw = NULL;

	assert_int_equal(tls_gateway(h, "gw1", "gw2", &gw), SB_ERR_CODE(FORBIDDEN));
	if (strstr(sbc_last_error(gw), "certificate identity does not match gateway id") == NULL)
		fail_msg("unexpected error: %s", sbc_last_error(gw));
	harness_assert_closed(h, gw, HARNESS_REPLY_MS);
	/* gw2's certificate names it by its DNS subjectAltName as well. */
	assert_int_equal(tls_gateway(h, "gw2", "gw2", &gw), 0);
}

HARNESS_TEST(test_sbctl_submits_over_tls)
{
	const char *secret = harness_write_file(h, "gw1.secret", harness_gateway_secret(h, "gw1"));
	const char *out;
	const char *const ok[] = {harness_sbctl_path(h),
	                          "submit",
	                          "--gateway",
	                          harness_gateway_addr(h),
	                          "--id",
	                          "gw1",
	                          "--secret-file",
	                          secret,
	                          "--tls-ca",
	                          cpath("ca.crt"),
	                          "--tls-cert",
	                          cpath("gw1.crt"),
	                          "--tls-key",
	                          cpath("gw1.key"),
	                          "--tls-name",
	                          "localhost",
	                          "--channel",
	                          "chat",
	                          "--external-id",
	                          "tls-cli-1",
	                          NULL};
	const char *const wrong[] = {harness_sbctl_path(h),   "submit",    "--gateway",
	                             harness_gateway_addr(h), "--id",      "gw1",
	                             "--secret-file",         secret,      "--tls-ca",
	                             cpath("ca2.crt"),        "--channel", "chat",
	                             "--external-id",         "tls-cli-2", NULL};
	int status = harness_run(h, ok, RUN_MS, &out);

	if (status != 0 || strstr(out, "accepted contact ") == NULL)
		fail_msg("sbctl submit over TLS exited %d:\n%s", status, out);
	status = harness_run(h, wrong, RUN_MS, &out);
	if (status != 1 || strstr(out, "certificate verify failed") == NULL)
		fail_msg("sbctl submit with the wrong CA exited %d:\n%s", status, out);
}

/* TMP/NAME.yaml: the harness's config on free ports with TLS on the agent
 * port from TMP/NAME.crt and TMP/NAME.key (relative names: resolved against
 * the config file's directory). cert NULL: no certificate file at all. */
static const char *tls_variant(struct harness *h, const char *name, const char *cert,
                               const char *key, mode_t key_mode)
{
	const char *yaml_name = harness_printf(h, "%s.yaml", name);
	const char *key_name = harness_printf(h, "%s.key", name);
	const char *cfg = harness_write_config_variant(h, yaml_name, harness_free_addr(h),
	                                               harness_free_addr(h), harness_redis_addr(h));
	const char *text = harness_read_file(h, yaml_name);

	cfg = harness_write_file(h, yaml_name,
	                         harness_printf(h,
	                                        "%stls:\n  agent:\n    cert_file: %s.crt\n"
	                                        "    key_file: %s.key\n",
	                                        text, name, name));
	if (cert != NULL)
		harness_write_file(h, harness_printf(h, "%s.crt", name), cert);
	harness_write_file(h, key_name, key);
	if (chmod(harness_printf(h, "%s/%s", harness_tmpdir(h), key_name), key_mode) != 0)
		fail_msg("chmod %s failed", key_name);
	return cfg;
}

/* The line of out holding text, from text on (owned by h); fails without. */
static const char *line_from(struct harness *h, const char *out, const char *text)
{
	const char *p = strstr(out, text);

	if (p == NULL)
		fail_msg("no \"%s\" in:\n%s", text, out);
	return harness_printf(h, "%.*s", (int)strcspn(p, "\n"), p);
}

/* --check-config (the unit's ExecStartPre) refuses exactly the TLS files the
 * daemon refuses, naming the file and the problem, with the daemon's own
 * words; a refusal there is a failed start, not a restart loop. */
static void check_refuses_like_the_daemon(struct harness *h, const char *cfg, const char *file,
                                          const char *problem)
{
	const char *check_out, *run_out;
	const char *const check[] = {harness_daemon_path(), "--check-config", cfg, NULL};
	const char *const run[] = {harness_daemon_path(), "--config", cfg, NULL};
	const char *path = harness_printf(h, "%s/%s", harness_tmpdir(h), file);

	int status = harness_run(h, check, RUN_MS, &check_out);
	if (status != 1 || strstr(check_out, "configuration OK") != NULL ||
	    strstr(check_out, path) == NULL || strstr(check_out, problem) == NULL)
		fail_msg("--check-config with %s (%s) exited %d:\n%s", file, problem, status,
		         check_out);
	const char *said = line_from(h, check_out, "tls.agent: ");
	status = harness_run(h, run, RUN_MS, &run_out);
	if (status <= 0 || strstr(run_out, said) == NULL)
		fail_msg("the daemon exited %d and did not say \"%s\":\n%s", status, said, run_out);
}

HARNESS_TEST(test_check_config_refuses_the_tls_files_the_daemon_refuses)
{
	const char *crt = harness_read_file(h, cpath("server.crt"));
	const char *key = harness_read_file(h, cpath("server.key"));
	const char *other_key = harness_read_file(h, cpath("gw1.key"));

	check_refuses_like_the_daemon(h, tls_variant(h, "missing", NULL, key, 0600), "missing.crt",
	                              "cannot load certificate");
	check_refuses_like_the_daemon(h, tls_variant(h, "garbage", "not a certificate\n", key, 0600),
	                              "garbage.crt", "cannot load certificate");
	check_refuses_like_the_daemon(h, tls_variant(h, "open", crt, key, 0644), "open.key",
	                              "accessible to other users (mode 0644)");
	check_refuses_like_the_daemon(h, tls_variant(h, "written", crt, key, 0602), "written.key",
	                              "accessible to other users (mode 0602)");
	check_refuses_like_the_daemon(h, tls_variant(h, "nokey", crt, "", 0600), "nokey.key",
	                              "cannot load private key");
	check_refuses_like_the_daemon(h, tls_variant(h, "mismatch", crt, other_key, 0600),
	                              "mismatch.key", "does not match");
}

/* A key readable by the daemon's group (root:switchboard 0640, how the
 * package installs secrets) passes the check and the daemon serves with it. */
HARNESS_TEST(test_group_readable_key_is_accepted)
{
	const char *out;
	const char *cfg = tls_variant(h, "group", harness_read_file(h, cpath("server.crt")),
	                              harness_read_file(h, cpath("server.key")), 0640);
	const char *const check[] = {harness_daemon_path(), "--check-config", cfg, NULL};
	const char *const run[] = {harness_daemon_path(), "--config", cfg, NULL};

	if (harness_run(h, check, RUN_MS, &out) != 0 || strstr(out, "configuration OK") == NULL)
		fail_msg("--check-config with a 0640 key:\n%s", out);
	pid_t pid = harness_spawn(h, run, "group.log");
	/* It shares the harness daemon's Redis and site, so it stands by. */
	if (!harness_file_wait(h, "group.log", "standby:", 5000))
		fail_msg("the daemon with a 0640 key did not start:\n%s",
		         harness_read_file(h, "group.log"));
	/* Its start line says which port speaks TLS. */
	const char *log = harness_read_file(h, "group.log");
	if (strstr(log, " (plain TCP), agents on ") == NULL ||
	    strstr(log, " (TLS), redis ") == NULL)
		fail_msg("the start line does not say which ports use TLS:\n%s", log);
	assert_int_equal(harness_kill(h, pid), 0);
}

/* The start line says how each client port is protected. */
HARNESS_TEST(test_start_line_says_which_ports_use_tls)
{
	const char *want = harness_printf(h,
	                                  "gateways on %s (TLS, client certificate required), "
	                                  "agents on %s (TLS), redis ",
	                                  harness_gateway_addr(h), harness_agent_addr(h));

	if (!harness_log_contains(h, want))
		fail_msg("no \"%s\" in:\n%s", want, harness_read_file(h, "switchboard.log"));
}

HARNESS_TEST(test_expired_server_certificate_fails_verification)
{
	struct sbc_tls t = tls_opts("ca", NULL);
	char err[256] = "";
	struct sbc *c = sbc_connect_tls(harness_gateway_addr(h), CONNECT_MS, &t, err, sizeof err);

	assert_null(c);
	if (strstr(err, "certificate has expired") == NULL)
		fail_msg("unexpected error: %s", err);
}

HARNESS_TEST(test_required_client_certificate)
{
	long mark = log_mark(h);
	struct sbc_tls t = tls_opts("ca", NULL);
	char err[256] = "";
	struct sbc *c = sbc_connect_tls(harness_gateway_addr(h), CONNECT_MS, &t, err, sizeof err);

	/* With TLS 1.3 the client finishes before the daemon checks its
	 * certificate: the refusal arrives as the first read. */
	if (c != NULL) {
		harness_adopt(h, c, false);
		assert_int_equal(sbc_hello(c, SWITCHBOARD__V1__ROLE__ROLE_GATEWAY, "gw1",
		                           harness_gateway_secret(h, "gw1"), HARNESS_REPLY_MS,
		                           NULL),
		                 -1);
	}
	expect_handshake_log(h, "certificate", mark);

	struct sbc *gw = NULL;
	assert_int_equal(tls_gateway(h, "gw1", "gw1", &gw), 0);
}

HARNESS_TEST(test_sighup_reloads_certificates_for_new_connections)
{
	struct sbc *gw = NULL;

	assert_int_equal(served_serial(harness_gateway_addr(h)), SERVER_SERIAL);
	assert_int_equal(tls_gateway(h, "gw1", NULL, &gw), 0);
	harness_keepalive(h, gw, true);

	copy_file("server2.crt", "reload.crt");
	copy_file("server2.key", "reload.key");
	assert_int_equal(kill(harness_daemon_pid(h), SIGHUP), 0);
	assert_true(harness_log_wait(h, "tls: certificates reloaded", 3000));
	assert_int_equal(served_serial(harness_gateway_addr(h)), SERVER2_SERIAL);
	harness_assert_open(h, gw);

	/* A broken file on disk: the error is logged, the certificate kept. */
	put_file("reload.crt", "not a certificate\n", 0600);
	assert_int_equal(kill(harness_daemon_pid(h), SIGHUP), 0);
	assert_true(harness_log_wait(h, "reload failed, keeping the old certificate", 3000));
	assert_int_equal(served_serial(harness_gateway_addr(h)), SERVER2_SERIAL);
	harness_assert_open(h, gw);
}

#define T(name, setup) cmocka_unit_test_setup_teardown(name, setup, harness_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_handshake_and_requests_on_both_ports, setup_main),
	    T(test_gateway_without_certificate_is_allowed_when_not_required, setup_main),
	    T(test_client_with_the_wrong_ca_refuses_the_daemon, setup_main),
	    T(test_client_checks_the_host_name, setup_main),
	    T(test_plain_client_on_a_tls_port_is_disconnected, setup_main),
	    T(test_tls_1_1_client_is_refused, setup_main),
	    T(test_gateway_certificate_must_name_the_gateway, setup_main),
	    T(test_sbctl_submits_over_tls, setup_main),
	    T(test_check_config_refuses_the_tls_files_the_daemon_refuses, harness_setup),
	    T(test_group_readable_key_is_accepted, harness_setup),
	    T(test_expired_server_certificate_fails_verification, setup_expired),
	    T(test_required_client_certificate, setup_required),
	    T(test_start_line_says_which_ports_use_tls, setup_required),
	    T(test_sighup_reloads_certificates_for_new_connections, setup_reload),
	};

	return cmocka_run_group_tests(tests, make_certs, remove_certs);
}

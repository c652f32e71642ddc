/* SPDX-License-Identifier: MIT */
/* tests/unit/test_cert.h: the test certificate of the unit tests and the fuzz targets: a
 * self-signed P-256 one for unit.test (openssl, valid until 2126), and its key. */
#ifndef TEST_CERT_H
#define TEST_CERT_H

static const char test_cert_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBljCCATugAwIBAgIUelMWxRQ6oFf/rlWxs3+O5LeLShEwCgYIKoZIzj0EAwIw\n"
	"FDESMBAGA1UEAwwJdW5pdC50ZXN0MCAXDTI2MTEyMTIzMDY0MloYDzIxMjYxMDI4\n"
	"MjMwNjQyWjAUMRIwEAYDVQQDDAl1bml0LnRlc3QwWTATBgcqhkjOPQIBBggqhkjO\n"
	"PQMBBwNCAASheOcuuyDmVjAbHYdaJafYce6SnJ6nd4blGPnnstPM2ZE0bs3wrgvq\n"
	"dYlGkk+tS1SD0zr6pU0KE5rN+nDIW1j8o2kwZzAdBgNVHQ4EFgQUd7bbQolL8dDP\n"
	"SsPSQyQ5fa14TKowHwYDVR0jBBgwFoAUd7bbQolL8dDPSsPSQyQ5fa14TKowDwYD\n"
	"VR0TAQH/BAUwAwEB/zAUBgNVHREEDTALggl1bml0LnRlc3QwCgYIKoZIzj0EAwID\n"
	"SQAwRgIhALMonaUphaz5r9TkDGrYCP8Y0x/jPpj+ah2CXUj9n0s8AiEA5osWFL4E\n"
	"h1JqBEk1680040PJKLGLlkRI/nYFsp4x8sg=\n"
	"-----END CERTIFICATE-----\n";
/* PKCS#8, as openssl writes keys now */
static const char test_key_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgQLNcfl+0T9vKTLgh\n"
	"dPTVssdJk9aacV8UqQHYN0zSTJuhRANCAASheOcuuyDmVjAbHYdaJafYce6SnJ6n\n"
	"d4blGPnnstPM2ZE0bs3wrgvqdYlGkk+tS1SD0zr6pU0KE5rN+nDIW1j8\n"
	"-----END PRIVATE KEY-----\n";

#endif

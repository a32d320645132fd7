//go:build !production

package crashpoint

// enabled: a development build honours ICE_CRASHPOINTS.
const enabled = true

// Package platform is what is left of the shared plumbing while it moves
// into the small packages of internal/.
package platform

// Package orders owns the demo shop's one domain object, the order: its
// validation, its Postgres schema and queries, and the worker's batch
// processing. The api and worker share it so that the schema and the
// queries that depend on it live in one place.
//
// It reads its database settings from the environment and the password
// from a secret file, never from an environment variable. It must not
// import berth's own internal packages.
package orders

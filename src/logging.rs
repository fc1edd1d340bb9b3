//! hclog-style JSON logging (to be filled)

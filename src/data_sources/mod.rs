//! data_sources layer (to be filled)

//! framework layer (to be filled)

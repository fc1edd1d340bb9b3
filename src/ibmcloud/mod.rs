//! ibmcloud layer (to be filled)

//! Placeholder until this part of the suite lands.

#ifndef SPARSEKIT_CHDF5SHIM_H
#define SPARSEKIT_CHDF5SHIM_H
// HDF5 spells its type and property-list identifiers as macros over globals that exist only after H5open().
// Swift cannot import those macros, so each is exposed here as a function. Nothing else lives in this file.
#include <hdf5/serial/hdf5.h>

hid_t sk_h5t_native_float(void);
hid_t sk_h5t_native_double(void);
hid_t sk_h5t_native_int32(void);
hid_t sk_h5t_native_int64(void);
hid_t sk_h5t_native_uint8(void);
hid_t sk_h5t_c_s1(void);
hid_t sk_h5t_ieee_f32le(void);
hid_t sk_h5t_ieee_f64le(void);
hid_t sk_h5t_std_i32le(void);
hid_t sk_h5t_std_i64le(void);
size_t sk_h5t_variable(void);

hid_t sk_h5p_default(void);
hid_t sk_h5p_file_create(void);
hid_t sk_h5p_file_access(void);
hid_t sk_h5p_dataset_access(void);
hid_t sk_h5p_dataset_create(void);
hid_t sk_h5p_group_create(void);
hid_t sk_h5p_link_create(void);
hid_t sk_h5s_all(void);
hid_t sk_h5e_default(void);

unsigned sk_h5f_acc_rdonly(void);
unsigned sk_h5f_acc_rdwr(void);
unsigned sk_h5f_acc_trunc(void);
unsigned sk_h5f_acc_excl(void);

/// Turns off HDF5's automatic error printing: errors reach Swift as return codes and become one-line messages.
void sk_h5_silence_errors(void);

#endif

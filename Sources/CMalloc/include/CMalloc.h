/* CMalloc — glibc's mallopt(3) and malloc_trim(3), whose header (<malloc.h>) Swift's Glibc module
 * leaves out. */
#ifndef CMALLOC_H
#define CMALLOC_H

/* Blocks of `bytes` and more get mappings of their own, unmapped when freed; fixing the threshold
 * also stops glibc from raising it to the largest block freed so far. Returns 1 on success. */
int errno_set_mmap_threshold(int bytes);

/* Hands the free pages of every arena back to the system (malloc_trim(0)): what a scrape allocated
 * and freed stays resident otherwise. Returns 1 when memory was released. */
int errno_release_free_memory(void);

#endif

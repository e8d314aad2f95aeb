/** The API key of this browser tab: kept in sessionStorage, so it ends with the tab. */
const KEY = "chaukas.apiKey";

export const storedKey = (): string | null => sessionStorage.getItem(KEY);
export const storeKey = (key: string) => sessionStorage.setItem(KEY, key);
export const forgetKey = () => sessionStorage.removeItem(KEY);
